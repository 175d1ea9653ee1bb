// The example application: a wiki under a Red Wedding spike. The same app runs under the
// Lambda@Edge, Workers and Node adapters.
//
//   GET  /pages/:slug          counts a view, returns the page with its counts   (public)
//   GET  /pages/:slug/stats    the counts, without counting a view               (public)
//   POST /pages/:slug/edit     { body }: replaces the body (last writer wins),   (role: editor)
//                              counts the edit per editor, adds the editor
//   POST /pages/:slug/watch    adds the caller to the page's watchers            (signed in)
//   POST /pages/:slug/unwatch  removes the caller from them                      (signed in)
import { defineApp, jwtAuth } from "castamere";

const keys = (slug) => ({
  views: `page:${slug}:views`,
  body: `page:${slug}:body`,
  edits: `page:${slug}:edits`,
  editors: `page:${slug}:editors`,
  watchers: `page:${slug}:watchers`,
});

function stats(db, slug) {
  const k = keys(slug);
  const edits = db.hgetall(k.edits);
  return {
    slug,
    views: db.get(k.views) ?? 0,
    edits,
    totalEdits: Object.values(edits).reduce((a, b) => a + Number(b), 0),
    editors: db.smembers(k.editors),
    watchers: db.smembers(k.watchers),
  };
}

const validSlug = (slug) => /^[\w.-]{1,128}$/.test(slug);
const badSlug = { status: 400, body: { error: "slug must be 1-128 of [A-Za-z0-9_.-]" } };

/** The wiki app; `jwtSecret` verifies HS256 bearer tokens (`sub` is the user, `roles` may hold "editor"). */
export function createWikiApp({ jwtSecret }) {
  return defineApp({
    authenticate: jwtAuth({ secret: jwtSecret }),
    routes: {
      "GET /pages/:slug": {
        public: true,
        handler: ({ params, db }) => {
          if (!validSlug(params.slug)) return badSlug;
          db.incr(keys(params.slug).views);
          return { body: { ...stats(db, params.slug), body: db.get(keys(params.slug).body) } };
        },
      },
      "GET /pages/:slug/stats": {
        public: true,
        handler: ({ params, db }) => (validSlug(params.slug) ? { body: stats(db, params.slug) } : badSlug),
      },
      "POST /pages/:slug/edit": {
        role: "editor",
        handler: ({ params, principal, body, db }) => {
          if (!validSlug(params.slug)) return badSlug;
          if (typeof body?.body !== "string") return { status: 400, body: { error: 'send JSON { "body": "..." }' } };
          const k = keys(params.slug);
          db.set(k.body, body.body);
          const mine = db.hincrby(k.edits, principal.sub, 1);
          db.sadd(k.editors, principal.sub);
          return { body: { slug: params.slug, editor: principal.sub, editsByYou: mine } };
        },
      },
      "POST /pages/:slug/watch": {
        handler: ({ params, principal, db }) => {
          if (!validSlug(params.slug)) return badSlug;
          db.sadd(keys(params.slug).watchers, principal.sub);
          return { body: { slug: params.slug, watching: true } };
        },
      },
      "POST /pages/:slug/unwatch": {
        handler: ({ params, principal, db }) => {
          if (!validSlug(params.slug)) return badSlug;
          db.srem(keys(params.slug).watchers, principal.sub);
          return { body: { slug: params.slug, watching: false } };
        },
      },
    },
  });
}
