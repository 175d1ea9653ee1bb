// Stands in for the `ws` package in Worker bundles: workerd has a global WebSocket.
export const WebSocket = globalThis.WebSocket;
export default globalThis.WebSocket;
