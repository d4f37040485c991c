import type { HubConnection, HttpTransportType, IHubProtocol, ITransport, LogLevel } from "@microsoft/signalr";

/** One event of a stream, as the server sends it. */
export interface StreamEvent {
  /** The event's 0-based place in its stream. */
  offset: number;
  /** The producer's id for the event, if any. */
  id?: string;
  /** agent_query, thinking, tool_call, tool_result, references, answer, reflection, error, session_title, complete, stop, or another. */
  type: string;
  /** Text: an answer chunk, a thought. */
  content?: string;
  done?: boolean;
  /** ISO 8601; set by the server when the producer leaves it out. */
  timestamp?: string;
  /** Any JSON object the producer attached. */
  data?: Record<string, unknown>;
  /** The stream's identity: it changes when a stream is lost and created again under the same ids. */
  streamId?: string;
  /**
   * Only on an event of a compacted catch-up that merges a run of text chunks: the first offset it covers (`offset` is
   * the last); its `content` is theirs joined.
   */
  firstOffset?: number;
}

/** Every error code of the wire contract. */
export type StreamErrorCode =
  | "InvalidId" | "InvalidOffset" | "InvalidLimit" | "OffsetBeyondEnd" | "InvalidEvent" | "EventTooLarge" | "BodyTooLarge"
  | "HeadersTooLarge" | "StreamNotFound" | "StreamReset" | "StreamDeleted" | "StreamCompleted" | "StreamFull" | "StreamExists" | "OffsetConflict" | "StoreUnavailable" | "StoreFull" | "ServerShuttingDown"
  | "AccessDenied" | "AccessExpired" | "AuthenticationRequired" | "RateLimited" | "TooManySubscriptions" | "TooManyConnections"
  | "InvalidRequest" | "RouteNotFound" | "MethodNotAllowed" | "InternalError";

/** The error table: each code's HTTP status, and whether it is final (retrying cannot succeed). */
export declare const errorCodes: Readonly<Record<StreamErrorCode, { readonly httpStatus: number; readonly final: boolean }>>;

/** The code at the start of a hub error's message, or null. */
export declare function errorCode(error: unknown): StreamErrorCode | null;

/** The server's own words in a hub error's message ("StreamNotFound: …"), without what SignalR puts in front of them. */
export declare function serverMessage(error: unknown): string;

/** Whether an error (or a code) is final. */
export declare function isFinal(error: unknown): boolean;

/** A refusal that retrying cannot change, with the server's code. */
export declare class HubStreamsError extends Error {
  constructor(code: StreamErrorCode, message: string, cause?: unknown);
  readonly code: StreamErrorCode;
}

export interface ConnectionOptions {
  /** Gives the current access token, for a server with AUTH_MODE=jwt; asked again on every connect and reconnect. */
  accessToken?: () => string | Promise<string>;
  transport?: HttpTransportType | ITransport;
  skipNegotiation?: boolean;
  headers?: Record<string, string>;
  logLevel?: LogLevel;
  /** The hub protocol: JSON when left out, or `new MessagePackHubProtocol()` from `@microsoft/signalr-protocol-msgpack`. */
  protocol?: IHubProtocol;
  /** The longest pause between two connection attempts, in ms. Default 2000. */
  maxRetryDelay?: number;
}

export type ConnectionEvent = "connected" | "reconnecting" | "disconnected";

export declare function createConnection(url: string, options?: ConnectionOptions): HubConnection;
export declare function connect(connection: HubConnection, onStatus?: (event: ConnectionEvent) => void): Promise<void>;
export declare function reconnect(connection: HubConnection): Promise<void>;
export declare function disconnect(connection: HubConnection): Promise<void>;
export declare function onConnectionChange(connection: HubConnection, listener: (event: ConnectionEvent, error?: Error) => void): () => void;
export declare function listenerCount(connection: HubConnection): number;
export declare function whenConnected(connection: HubConnection): Promise<void>;

export type ReaderState = "connected" | "resumed" | "reconnecting" | "disconnected";

/** What a reader is doing, as .NET's ReaderStatus: its string form is `text`. */
export interface ReaderStatus {
  readonly state: ReaderState;
  /** The offset the reader asks for next. */
  readonly nextOffset: number;
  /** The stream's identity, once its first event came. */
  readonly streamId: string | null;
  /** The same in words: "connected", "reconnecting", "disconnected", "resumed at offset N". */
  readonly text: string;
}

/** How long to wait before try number `attempt` (from 0) of anything that failed for now: 100 ms, doubling, at most `maxRetryDelay` (2,000). */
export declare function retryDelay(attempt: number, maxRetryDelay?: number): number;

export interface FollowOptions {
  fromOffset?: number;
  /** Catch up compacted: each run of stored text chunks up to the stream's end as one event, then the live events one by one. */
  compact?: boolean;
  /** The stream's identity, when resuming one seen before: a stream created again since ends the reader with StreamReset. */
  streamId?: string;
  /** Once per offset, in order. */
  onEvent?: (event: StreamEvent) => void;
  /** When it connects, loses the connection or resumes. */
  onStatus?: (status: ReaderStatus) => void;
  onComplete?: () => void;
  /** A final refusal: the stream expired or never existed, the token does not grant it, or the request is invalid. */
  onError?: (error: HubStreamsError) => void;
}

export interface Follower {
  readonly nextOffset: number;
  /** The stream's identity, once its first event came. */
  readonly streamId: string | null;
  stop(): void;
}

export declare function followStream(connection: HubConnection, sessionId: string, messageId: string, options?: FollowOptions): Follower;

export interface ReadOptions {
  fromOffset?: number;
  compact?: boolean;
  streamId?: string;
  signal?: AbortSignal;
  onStatus?: (status: ReaderStatus) => void;
}

export declare function readStream(connection: HubConnection, sessionId: string, messageId: string, options?: ReadOptions): AsyncGenerator<StreamEvent, void, undefined>;

/** The event a writer appends: everything but the offset, which the writer gives. */
export type OutgoingEvent = Omit<StreamEvent, "offset" | "streamId">;

export interface Writer {
  /** Stores the event at the next offset, exactly once, and resolves to its offset. */
  append(event: OutgoingEvent): Promise<number>;
  /** Stores `complete`, once, ending the stream. */
  complete(data?: Record<string, unknown>): Promise<number>;
  readonly nextOffset: number;
  /** How many calls had to be sent again. */
  readonly retries: number;
  /** The last lease the server gave: its deadline for the next append or heartbeat (null before the first heartbeat). */
  readonly lease: ProducerLease | null;
  /** Fires when a reader asks the answer to stop. */
  readonly stopRequested: AbortSignal;
  /** Stops following the stream and heartbeating. */
  close(): void;
}

/** What a heartbeat answers. */
export interface ProducerLease {
  nextOffset: number;
  /** ISO 8601, the server's deadline; null when the server ends no stream this way, or the stream holds nothing yet. */
  expiresAt: string | null;
}

export interface WriterOptions {
  /** How often an idle writer heartbeats, in ms (at least three times within the server's deadline whatever this says). Default 30,000. */
  heartbeatInterval?: number;
}

export declare function createWriter(connection: HubConnection, sessionId: string, messageId: string, options?: WriterOptions): Promise<Writer>;

export interface SessionOptions {
  /** A message of the session started (its first event was stored), on any node. */
  onStarted?: (messageId: string, sessionId: string) => void;
  /** A message of the session completed. */
  onCompleted?: (messageId: string, sessionId: string) => void;
  /** After each join: the first, and each one after a reconnect (notifications sent meanwhile are not replayed). */
  onJoined?: () => void;
  /** A final refusal when joining again after a reconnect (the token no longer grants the session, say). */
  onError?: (error: HubStreamsError) => void;
}

export interface JoinedSession {
  /** Stops hearing the session, and leaves it on the server. */
  leave(): Promise<void>;
}

/**
 * Hears a session's notifications, joining it again after every reconnect; resolves once joined, rejects with a
 * HubStreamsError when the session cannot be joined.
 */
export declare function joinSession(connection: HubConnection, sessionId: string, options?: SessionOptions): Promise<JoinedSession>;

/** One message of a session, as its stream stands. */
export interface SessionMessage {
  messageId: string;
  /** "streaming" (events, no `complete` yet), "completed", or "deleted" (only in a change). */
  state: "streaming" | "completed" | "deleted" | (string & {});
  /** How many events its stream holds: follow from 0 for the whole answer, from here for what comes next. */
  nextOffset: number;
  streamId?: string | null;
  firstEventAt?: string | null;
  lastEventAt?: string | null;
}

/** A page of a session's listing, oldest first; `next` is null on the last page. */
export interface SessionPage {
  messages: SessionMessage[];
  next: string | null;
}

/** A change of a session, heard on any node. */
export interface SessionChange {
  kind: "started" | "completed" | "deleted";
  sessionId: string;
  message: SessionMessage;
}

/** What readSession yields: the listing first (and again after each drop), then each change. */
export type SessionUpdate = { kind: "snapshot"; sessionId: string; messages: SessionMessage[] } | SessionChange;

export declare function getSession(connection: HubConnection, sessionId: string, options?: { after?: string | null }): Promise<SessionPage>;
export declare function deleteMessage(connection: HubConnection, sessionId: string, messageId: string): Promise<boolean>;
export declare function deleteSession(connection: HubConnection, sessionId: string): Promise<number>;

export interface WatchSessionOptions {
  /** The session's messages as they are now, oldest first: at the start, and again after each drop. */
  onMessages?: (messages: SessionMessage[]) => void;
  /** A change, as it happens. */
  onChange?: (change: SessionChange) => void;
  /** A final refusal (not granted, an invalid id): the watch ends. */
  onError?: (error: HubStreamsError) => void;
}

export interface SessionWatch {
  /** The session's messages as last heard. */
  readonly messages: SessionMessage[];
  stop(): void;
}

/** Watches a session: its listing, then its changes, watching again after every drop. */
export declare function watchSession(connection: HubConnection, sessionId: string, options?: WatchSessionOptions): SessionWatch;

/** The session's watch as an async iterator. */
export declare function readSession(connection: HubConnection, sessionId: string, options?: { signal?: AbortSignal }): AsyncGenerator<SessionUpdate, void, undefined>;

export interface FollowSessionOptions {
  /** Catch each message up compacted, as FollowOptions.compact: the answers so far in a few merged events, then live. */
  compact?: boolean;
  /** A message seen for the first time (oldest first), before its events. */
  onMessage?: (message: SessionMessage) => void;
  /** One of its events, once per offset, in order. */
  onEvent?: (messageId: string, event: StreamEvent) => void;
  onMessageComplete?: (messageId: string) => void;
  /** The message was deleted: its follower stopped. */
  onDeleted?: (messageId: string) => void;
  onMessageError?: (messageId: string, error: HubStreamsError) => void;
  onError?: (error: HubStreamsError) => void;
}

/** Follows every message of a session, those there now and each one that starts later, each resuming by itself. */
export declare function followSession(connection: HubConnection, sessionId: string, options?: FollowSessionOptions): { stop(): void };
