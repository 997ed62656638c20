// Everything the streaming server needs once a client upgrades, gathered so that the server can
// load it on first use.
import { PORTFORWARD_V1 } from './protocol.js';
import { WS_BASE64_CHANNEL, WS_CHANNEL, WS_SPDY_TUNNEL_PREFIX, WS_V4_BASE64_CHANNEL, WS_V4_CHANNEL, WS_V5_CHANNEL } from './websocket.js';

export { createWebSocketStream } from 'ws';
export { PORTFORWARD_V1, SPDY_REMOTECOMMAND_PROTOCOLS, STREAM_V1 } from './protocol.js';
export { serveSpdyPortForward, serveWebSocketPortForward } from './portforward.js';
export { serveAttach, serveExec, spdySession, webSocketSession } from './remotecommand.js';
export { acceptSpdy, rejectSocket, spdyConnection } from './spdy.js';
export { webSocketOutbound } from './backpressure.js';
export { acceptWebSocket, ChannelConn, isWebSocketUpgrade, WS_SPDY_TUNNEL_PREFIX } from './websocket.js';

export const WS_REMOTECOMMAND_PROTOCOLS = [WS_V5_CHANNEL, WS_V4_CHANNEL, WS_V4_BASE64_CHANNEL, WS_CHANNEL, WS_BASE64_CHANNEL, ''];
export const WS_PORTFORWARD_PROTOCOLS = [WS_SPDY_TUNNEL_PREFIX + PORTFORWARD_V1, WS_V4_CHANNEL, WS_V4_BASE64_CHANNEL, ''];
