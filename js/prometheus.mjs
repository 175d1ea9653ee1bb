// The Prometheus text format of the relay's, the origin's and the regional replica's /metrics.

/**
 * The exposition of `metrics`, each `[name, type, value, help]`: `value` is a number, or rows of
 * `[labels, number]` with `labels` like `{reason="..."}`; `help` is optional.
 */
export function exposition(metrics) {
  const lines = [];
  for (const [name, type, value, help] of metrics) {
    if (help) lines.push(`# HELP ${name} ${help}`);
    lines.push(`# TYPE ${name} ${type}`);
    for (const [labels, v] of Array.isArray(value) ? value : [["", value]]) lines.push(`${name}${labels} ${v}`);
  }
  return `${lines.join("\n")}\n`;
}
