export {
  RelayClient,
  type RelayClientOptions,
  type RequestOptions,
  type HistoryQuery,
  type SendMessageOptions,
  type DrainOptions,
} from './lib/relay-client';
export {
  HttpTransport,
  readToken,
  type TransportOptions,
  type CallOptions,
  type TokenSource,
} from './lib/http-transport';
export { RelayError, TRANSPORT_ERROR_CODES, errorFromAnswer, type RelayErrorInit } from './lib/relay-error';
export {
  EventStream,
  compareIds,
  STREAM_CLOSE_CODES,
  EVENTS_WS_PATH,
  type EventStreamOptions,
  type StreamState,
  type WebSocketLike,
  type WebSocketConstructor,
} from './lib/event-stream';
export type * from './lib/wire';
