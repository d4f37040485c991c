using System.Runtime.CompilerServices;
using System.Threading.Channels;
using HubStreams.Protocols.MessagePack;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Options;

namespace HubStreams.Client;

/// <summary>
/// A client of a HubStreams server (one node, a farm's balancer, or several nodes). Follow a stream with
/// <see cref="ReadStreamAsync(string, string, long, Action{ReaderStatus}?, CancellationToken)"/>, which resumes by itself; hear when a session's messages start and complete with
/// <see cref="WatchSessionAsync"/>. Its readers, writers, session watches and calls share one hub connection per hub
/// address (another only past <see cref="HubStreamsClientOptions.StreamsPerConnection"/> streams on each): after a drop,
/// one reconnect serves them all, each stream resuming at its own next offset. Thread-safe; one per application is
/// enough (see <see cref="Microsoft.Extensions.DependencyInjection.HubStreamsClientServiceCollectionExtensions.AddHubStreamsClient"/>);
/// dispose it to close its connections.
/// </summary>
public sealed class HubStreamsClient : IAsyncDisposable
{
    private readonly HubStreamsClientOptions _options;
    private readonly SharedConnections _connections;

    /// <summary>Creates a client.</summary>
    /// <exception cref="ArgumentException">No hub address is given.</exception>
    public HubStreamsClient(HubStreamsClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.HubUrls.Count == 0)
        {
            throw new ArgumentException("HubUrls needs at least one hub address, such as https://example.com/hubs/streams.", nameof(options));
        }

        _options = options;
        _connections = new SharedConnections(url => CreateConnection(url, reconnectForever: false), options.StreamsPerConnection);
    }

    /// <summary>Creates a client from the options registered with <see cref="Microsoft.Extensions.DependencyInjection.HubStreamsClientServiceCollectionExtensions.AddHubStreamsClient"/>.</summary>
    public HubStreamsClient(IOptions<HubStreamsClientOptions> options)
        : this((options ?? throw new ArgumentNullException(nameof(options))).Value)
    {
    }

    internal HubStreamsClientOptions Options => _options;

    /// <summary>The hub connections every reader, writer, watch and call of this client shares.</summary>
    internal SharedConnections Connections => _connections;

    /// <summary>How many hub connections the client holds open (or is opening) now, over every hub address.</summary>
    public int OpenConnections => _connections.Count;

    /// <summary>Closes the client's shared connections; reads, writers and watches still open end.</summary>
    public ValueTask DisposeAsync() => _connections.DisposeAsync();

    /// <summary>The one retry policy of this client: the options', or the capped backoff their delays describe.</summary>
    internal IRetryPolicy RetryPolicy => _options.RetryPolicy ?? (_backoff ??= new CappedBackoff(_options.InitialRetryDelay, _options.MaxRetryDelay));

    private CappedBackoff? _backoff;

    /// <summary>The pause before the next try after <paramref name="failuresInARow"/> failures, or null to give up.</summary>
    internal TimeSpan? NextRetryDelay(long failuresInARow, TimeSpan elapsed, Exception? reason) =>
        RetryPolicy.NextRetryDelay(new RetryContext { PreviousRetryCount = failuresInARow, ElapsedTime = elapsed, RetryReason = reason! });

    /// <summary>
    /// Every event of the stream from <paramref name="fromOffset"/> to <c>complete</c>, each exactly once and in order.
    /// Whatever is not final (a dropped connection, a node that dies or shuts down, a restart, the store briefly away,
    /// an expired token) the reader rides out: it connects again, with a capped backoff and the next hub address, asks
    /// the token provider again, and resumes at the offset after the last event it yielded.
    /// </summary>
    /// <param name="sessionId">The chat session.</param>
    /// <param name="messageId">The message whose stream to follow.</param>
    /// <param name="fromOffset">The first offset wanted: 0 for the whole stream.</param>
    /// <param name="onStatus">Told when the reader connects, loses its connection or resumes.</param>
    /// <param name="cancellationToken">Stops the reader.</param>
    /// <exception cref="HubStreamsException">
    /// The server refused for good: the stream expired or never existed (<see cref="StreamErrorCode.StreamNotFound"/>),
    /// the token does not grant it (<see cref="StreamErrorCode.AccessDenied"/>), or the request is invalid.
    /// </exception>
    public ResumableStreamReader ReadStreamAsync(
        string sessionId, string messageId, long fromOffset = 0, Action<ReaderStatus>? onStatus = null,
        CancellationToken cancellationToken = default) =>
        ReadStreamAsync(sessionId, messageId, new ReadOptions { FromOffset = fromOffset, OnStatus = onStatus }, cancellationToken);

    /// <summary>
    /// Every event of the stream from <see cref="ReadOptions.FromOffset"/> to <c>complete</c>, read as
    /// <paramref name="options"/> say: as <see cref="ReadStreamAsync(string, string, long, Action{ReaderStatus}?, CancellationToken)"/>,
    /// and compacted when <see cref="ReadOptions.Compact"/> is set.
    /// </summary>
    /// <exception cref="HubStreamsException">The server refused for good, as for the other overload.</exception>
    public ResumableStreamReader ReadStreamAsync(string sessionId, string messageId, ReadOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(options.FromOffset, nameof(options));
        EnsureValidId(sessionId, nameof(sessionId));
        EnsureValidId(messageId, nameof(messageId));
        return new ResumableStreamReader(this, sessionId, messageId, options.FromOffset, options.OnStatus, options.Compact, cancellationToken);
    }

    /// <summary>
    /// Watches a session: yields its messages as they are now (one <see cref="SessionUpdateKinds.Snapshot"/> update with
    /// every one of them, oldest first), then one update per change as it happens on any node (a message
    /// <see cref="SessionUpdateKinds.Started"/>, <see cref="SessionUpdateKinds.Completed"/> or
    /// <see cref="SessionUpdateKinds.Deleted"/>), until cancelled. After a drop it watches again, paced by the retry
    /// policy, and yields a fresh snapshot first, which holds whatever changed meanwhile.
    /// </summary>
    /// <exception cref="HubStreamsException">The token does not grant the session, its id is invalid, or the retry policy gave up.</exception>
    public async IAsyncEnumerable<SessionUpdate> WatchSessionAsync(string sessionId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        EnsureValidId(sessionId, nameof(sessionId));
        var url = 0;
        var since = System.Diagnostics.Stopwatch.GetTimestamp();
        for (var failures = 0L; ; failures++)
        {
            Exception? failure = null;
            SharedConnections.Lease? lease = null;
            try
            {
                lease = await Connections.AcquireAsync(_options.HubUrls[url], holdsStream: true, cancellationToken);
            }
            catch (Exception e) when (e is not ObjectDisposedException && !cancellationToken.IsCancellationRequested)
            {
                failure = e;
            }

            if (lease is not null)
            {
                await using (lease)
                await using (var updates = lease.Connection.StreamAsync<SessionUpdate>("WatchSession", sessionId, cancellationToken).GetAsyncEnumerator(cancellationToken))
                {
                    List<SessionMessage> snapshot = [];
                    while (true)
                    {
                        try
                        {
                            if (!await updates.MoveNextAsync())
                            {
                                break;
                            }
                        }
                        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                        {
                            failure = e;
                            break;
                        }

                        var update = updates.Current;
                        if (update.Kind != SessionUpdateKinds.Snapshot)
                        {
                            yield return update;
                            continue;
                        }

                        // A snapshot comes in pages: it is yielded whole.
                        snapshot.AddRange(update.Messages);
                        if (!update.More)
                        {
                            failures = 0;
                            since = System.Diagnostics.Stopwatch.GetTimestamp();
                            yield return update with { Messages = snapshot };
                            snapshot = [];
                        }
                    }
                }
            }

            if (ServerCalls.AsFinal(failure) is { } final)
            {
                throw final;
            }

            if (ServerCalls.CodeOf(failure) == StreamErrorCode.AccessExpired && lease is not null)
            {
                // The connection's token expired: the next watch goes on a new connection, with a fresh token.
                Connections.Retire(lease.Connection);
            }
            else
            {
                url = (url + 1) % _options.HubUrls.Count;
            }

            if (NextRetryDelay(failures, System.Diagnostics.Stopwatch.GetElapsedTime(since), failure) is not { } delay)
            {
                throw new HubStreamsException(StreamErrorCode.StoreUnavailable, $"Watching session {sessionId} failed, and the retry policy gave up.", failure);
            }

            await Task.Delay(delay, cancellationToken);
        }
    }

    /// <summary>
    /// What a chat page does: follows every message of a session, those there now (oldest first) and each one that starts
    /// later on any node, each from offset 0 and resuming by itself, and yields their events as they come, each message's
    /// in order and once per offset. A message whose reader ends for good (deleted, expired) yields one
    /// <see cref="SessionEvent"/> with its <see cref="SessionEvent.Error"/>, and the others go on. Until cancelled.
    /// </summary>
    /// <exception cref="HubStreamsException">The session cannot be watched (see <see cref="WatchSessionAsync"/>).</exception>
    public IAsyncEnumerable<SessionEvent> FollowSessionAsync(string sessionId, CancellationToken cancellationToken = default) =>
        FollowSessionAsync(sessionId, compact: false, cancellationToken);

    /// <summary>
    /// As <see cref="FollowSessionAsync(string, CancellationToken)"/>; with <paramref name="compact"/>, each message is
    /// read as <see cref="ReadOptions.Compact"/> says: the answers so far come as a few merged events, then live.
    /// </summary>
    /// <exception cref="HubStreamsException">The session cannot be watched (see <see cref="WatchSessionAsync"/>).</exception>
    public async IAsyncEnumerable<SessionEvent> FollowSessionAsync(string sessionId, bool compact, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        EnsureValidId(sessionId, nameof(sessionId));
        var events = Channel.CreateUnbounded<SessionEvent>(new UnboundedChannelOptions { SingleReader = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var readers = new List<Task>();
        var followed = new HashSet<string>(StringComparer.Ordinal);

        async Task FollowAsync(string messageId)
        {
            try
            {
                await foreach (var streamEvent in ReadStreamAsync(sessionId, messageId, new ReadOptions { Compact = compact }, stop.Token))
                {
                    events.Writer.TryWrite(new SessionEvent(messageId, streamEvent));
                }
            }
            catch (HubStreamsException e)
            {
                events.Writer.TryWrite(new SessionEvent(messageId, null, e));
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The follow ended.
            }
        }

        var watching = Task.Run(async () =>
        {
            try
            {
                await foreach (var update in WatchSessionAsync(sessionId, stop.Token))
                {
                    var appeared = update.Kind == SessionUpdateKinds.Snapshot ? update.Messages
                        : update.Kind == SessionUpdateKinds.Deleted ? [] : [update.Message!];
                    foreach (var message in appeared.Where(m => followed.Add(m.MessageId)))
                    {
                        readers.Add(FollowAsync(message.MessageId));
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The follow ended.
            }
            catch (Exception e)
            {
                events.Writer.TryComplete(e);
            }
        }, CancellationToken.None);

        try
        {
            await foreach (var sessionEvent in events.Reader.ReadAllAsync(cancellationToken))
            {
                yield return sessionEvent;
            }
        }
        finally
        {
            await stop.CancelAsync();
            await watching;
            await Task.WhenAll(readers);
        }
    }

    /// <summary>A page of the session's messages, oldest first; pass its <see cref="SessionPage.Next"/> as <paramref name="after"/> for the next.</summary>
    /// <exception cref="HubStreamsException">The token does not grant the session, or an id or cursor is invalid.</exception>
    public Task<SessionPage> GetSessionAsync(string sessionId, string? after = null, CancellationToken cancellationToken = default)
    {
        EnsureValidId(sessionId, nameof(sessionId));
        return InvokeOnceAsync(connection => connection.InvokeAsync<SessionPage>("GetSession", sessionId, after, cancellationToken), cancellationToken);
    }

    /// <summary>Deletes a message's stream (producer role): its readers end with <c>StreamDeleted</c>. False when there was none.</summary>
    /// <exception cref="HubStreamsException">The token does not allow it, or an id is invalid.</exception>
    public Task<bool> DeleteMessageAsync(string sessionId, string messageId, CancellationToken cancellationToken = default)
    {
        EnsureValidId(sessionId, nameof(sessionId));
        EnsureValidId(messageId, nameof(messageId));
        return InvokeOnceAsync(connection => connection.InvokeAsync<bool>("DeleteMessage", sessionId, messageId, cancellationToken), cancellationToken);
    }

    /// <summary>Deletes every message of a session (producer role); returns how many.</summary>
    /// <exception cref="HubStreamsException">The token does not allow it, or the id is invalid.</exception>
    public Task<int> DeleteSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        EnsureValidId(sessionId, nameof(sessionId));
        return InvokeOnceAsync(connection => connection.InvokeAsync<int>("DeleteSession", sessionId, cancellationToken), cancellationToken);
    }

    // One call, on the shared connection to the first hub address.
    private async Task<T> InvokeOnceAsync<T>(Func<HubConnection, Task<T>> call, CancellationToken cancellationToken)
    {
        await using var lease = await Connections.AcquireAsync(_options.HubUrls[0], holdsStream: false, cancellationToken);
        var result = default(T)!;
        await ServerCalls.InvokeAsync(async () => result = await call(lease.Connection));
        return result;
    }

    /// <summary>
    /// Joins a session and yields <see cref="SessionNotification"/>s as its messages start and complete, whichever node
    /// their producer used, until cancelled. The connection reconnects by itself and joins again; notifications sent
    /// while it was away are not replayed: <see cref="WatchSessionAsync"/> starts each watch with a snapshot instead.
    /// </summary>
    /// <exception cref="HubStreamsException">The token does not grant the session, or its id is invalid.</exception>
    public async IAsyncEnumerable<SessionNotification> JoinSessionAsync(string sessionId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        EnsureValidId(sessionId, nameof(sessionId));
        var heard = Channel.CreateUnbounded<SessionNotification>();
        await using var connection = CreateConnection(_options.HubUrls[0], reconnectForever: true);
        connection.On<string, string>("MessageStarted", (s, m) => heard.Writer.TryWrite(new(SessionNotificationKind.MessageStarted, s, m)));
        connection.On<string, string>("MessageCompleted", (s, m) => heard.Writer.TryWrite(new(SessionNotificationKind.MessageCompleted, s, m)));
        connection.Reconnected += _ => JoinAgainAsync(connection, sessionId, heard.Writer);
        await connection.StartAsync(cancellationToken);
        await ServerCalls.InvokeAsync(() => connection.InvokeAsync("JoinSession", sessionId, cancellationToken));
        await foreach (var notification in heard.Reader.ReadAllAsync(cancellationToken))
        {
            yield return notification;
        }
    }

    // After a reconnect the server has forgotten the connection's sessions: join again, paced by the retry policy, until
    // it is joined, the connection closes, or the policy gives up (then the watch ends with that failure).
    private async Task JoinAgainAsync(HubConnection connection, string sessionId, ChannelWriter<SessionNotification> heard)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        for (var failures = 0L; connection.State == HubConnectionState.Connected; failures++)
        {
            try
            {
                await ServerCalls.InvokeAsync(() => connection.InvokeAsync("JoinSession", sessionId, CancellationToken.None));
                return;
            }
            catch (Exception e) when (e is not HubStreamsException)
            {
                if (NextRetryDelay(failures, System.Diagnostics.Stopwatch.GetElapsedTime(started), e) is not { } delay)
                {
                    heard.TryComplete(e);
                    return;
                }

                await Task.Delay(delay);
            }
            catch (HubStreamsException e)
            {
                heard.TryComplete(e);
                return;
            }
        }
    }

    /// <summary>
    /// Opens a writer of one message's stream (a new one, or one to go on with): every event it appends is stored
    /// exactly once, and its <see cref="MessageWriter.StopRequested"/> fires when a reader asks the answer to stop.
    /// </summary>
    /// <exception cref="HubStreamsException">The stream is completed, the token does not grant it, or an id is invalid.</exception>
    public async Task<MessageWriter> OpenWriterAsync(string sessionId, string messageId, CancellationToken cancellationToken = default)
    {
        EnsureValidId(sessionId, nameof(sessionId));
        EnsureValidId(messageId, nameof(messageId));
        var writer = new MessageWriter(this, sessionId, messageId);
        try
        {
            await writer.OpenAsync(cancellationToken);
            return writer;
        }
        catch
        {
            await writer.DisposeAsync();
            throw;
        }
    }

    /// <summary>A hub connection to <paramref name="hubUrl"/> with the client's token, connection and protocol settings.</summary>
    public HubConnection CreateConnection(Uri hubUrl) => CreateConnection(hubUrl, reconnectForever: false);

    internal HubConnection CreateConnection(Uri hubUrl, bool reconnectForever)
    {
        var builder = new HubConnectionBuilder().WithUrl(hubUrl, connection =>
        {
            if (_options.AccessTokenProvider is { } tokens)
            {
                connection.AccessTokenProvider = () => tokens(CancellationToken.None);
            }

            _options.ConfigureConnection?.Invoke(connection);
        });
        if (reconnectForever)
        {
            builder.WithAutomaticReconnect(RetryPolicy);
        }

        if (_options.Protocol == HubProtocol.MessagePack)
        {
            builder.AddHubStreamsMessagePackProtocol();
        }

        _options.ConfigureHubConnection?.Invoke(builder);
        return builder.Build();
    }

    private static void EnsureValidId(string id, string name)
    {
        if (!StreamIds.IsValid(id))
        {
            throw new HubStreamsException(StreamErrorCode.InvalidId, $"{name} must be {StreamIds.Rule}.");
        }
    }
}
