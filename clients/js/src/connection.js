import { signalR } from "./signalr.js";

// Per connection: who listens to its comings and goings, and whether it is kept connected. The SignalR handlers are
// registered once per connection, never per follower, so following and stopping streams leaves nothing behind.
const states = new WeakMap();

function stateOf(connection) {
  let state = states.get(connection);
  if (!state) {
    state = { listeners: new Set(), keep: false, starting: null, maxRetryDelay: 2000 };
    states.set(connection, state);
    connection.onreconnecting(error => emit(connection, "reconnecting", error));
    connection.onreconnected(() => emit(connection, "connected"));
    connection.onclose(error => {
      // Closed by disconnect: it stays closed. Closed otherwise: it is started again.
      emit(connection, state.keep ? "reconnecting" : "disconnected", error);
      if (state.keep) startWithRetry(connection);
    });
  }
  return state;
}

function emit(connection, event, error) {
  for (const listener of [...stateOf(connection).listeners]) listener(event, error);
}

const delay = ms => new Promise(resolve => setTimeout(resolve, ms));

/**
 * The one backoff of the client: how long to wait before try number `attempt` (from 0) of anything that failed for now
 * (a connect, a subscribe, an append, a join): 100 ms, doubling, at most `maxRetryDelay`.
 */
export const retryDelay = (attempt, maxRetryDelay = 2000) => Math.min(maxRetryDelay, 100 * 2 ** attempt);

function startWithRetry(connection) {
  const state = stateOf(connection);
  state.starting ??= (async () => {
    let attempt = 0;
    while (state.keep && connection.state === signalR.HubConnectionState.Disconnected) {
      try {
        await connection.start();
        emit(connection, "connected");
      } catch (error) {
        emit(connection, "reconnecting", error);
        await delay(retryDelay(attempt++, state.maxRetryDelay));
      }
    }
  })().finally(() => { state.starting = null; });
  return state.starting;
}

/**
 * A hub connection to a HubStreams server. `accessToken` is a function giving the current token (asked again on every
 * connect and reconnect); `transport`, `skipNegotiation` and `headers` go to SignalR as they are; `protocol` is the hub
 * protocol, JSON when left out, or `new MessagePackHubProtocol()` from `@microsoft/signalr-protocol-msgpack` for
 * SignalR's binary protocol (the same events and errors, fewer bytes). Start it with `connect`, which keeps it connected.
 */
export function createConnection(url, { accessToken, transport, skipNegotiation, headers, logLevel, protocol, maxRetryDelay = 2000 } = {}) {
  const options = {};
  if (accessToken) options.accessTokenFactory = accessToken;
  if (transport !== undefined) options.transport = transport;
  if (skipNegotiation) options.skipNegotiation = true;
  if (headers) options.headers = headers;
  const builder = new signalR.HubConnectionBuilder().withUrl(url, options);
  if (protocol) builder.withHubProtocol(protocol);
  const connection = builder
    .withAutomaticReconnect({
      // The first try at once: a dropped connection often comes back on the spot (another node answers).
      nextRetryDelayInMilliseconds: context => (context.previousRetryCount === 0 ? 0 : retryDelay(context.previousRetryCount, maxRetryDelay)),
    })
    .configureLogging(logLevel ?? signalR.LogLevel.Warning)
    .build();
  stateOf(connection).maxRetryDelay = maxRetryDelay;
  return connection;
}

/**
 * Starts the connection and keeps it connected: retried until the server answers, reconnected after any drop, and
 * started again after a close, until `disconnect`. Resolves once connected. `onStatus` hears "connected",
 * "reconnecting", and "disconnected" once `disconnect` has closed it.
 */
export function connect(connection, onStatus) {
  const state = stateOf(connection);
  state.keep = true;
  if (onStatus) state.listeners.add(event => onStatus(event));
  // A browser that knows it is offline has a dead socket: let go of it now rather than after the keep-alive timeout.
  if (!state.onOffline && typeof globalThis.addEventListener === "function") {
    state.onOffline = () => reconnect(connection);
    globalThis.addEventListener("offline", state.onOffline);
  }
  return connection.state === signalR.HubConnectionState.Connected ? Promise.resolve() : startWithRetry(connection);
}

/** Drops the connection and connects again at once; every stream followed on it resumes where it was. */
export function reconnect(connection) {
  const state = stateOf(connection);
  state.keep = true;
  return connection.state === signalR.HubConnectionState.Disconnected ? startWithRetry(connection) : connection.stop();
}

/** Stops the connection for good (it is no longer kept connected). */
export async function disconnect(connection) {
  const state = stateOf(connection);
  state.keep = false;
  if (state.onOffline) {
    globalThis.removeEventListener?.("offline", state.onOffline);
    state.onOffline = null;
  }
  await connection.stop();
}

/** Listens to the connection's comings and goings ("connected", "reconnecting", "disconnected"); returns the way to stop listening. */
export function onConnectionChange(connection, listener) {
  const { listeners } = stateOf(connection);
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Resolves once the connection is connected (at once when it is). */
export function whenConnected(connection) {
  if (connection.state === signalR.HubConnectionState.Connected) return Promise.resolve();
  return new Promise(resolve => {
    const stop = onConnectionChange(connection, event => {
      if (event === "connected") {
        stop();
        resolve();
      }
    });
  });
}

/** How many listeners a connection has: the followers on it, and `connect`'s status listener. */
export function listenerCount(connection) {
  return stateOf(connection).listeners.size;
}
