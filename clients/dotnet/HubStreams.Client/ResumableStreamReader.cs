using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Client;

/// <summary>
/// A stream read that resumes by itself, from <see cref="HubStreamsClient.ReadStreamAsync(string, string, ReadOptions, CancellationToken)"/>: follow, decide,
/// back off, until <c>complete</c> or a final refusal. It reads on the client's shared connection to its hub address;
/// after a drop it follows again on the connection that replaces it (a new one, so the token provider is asked again),
/// each time from the offset after the last event yielded. A compacted read may yield an event that merges several
/// offsets (<see cref="StreamEvent.FirstOffset"/>..<see cref="StreamEvent.Offset"/>): it resumes after the last.
/// Enumerate it once.
/// </summary>
public sealed class ResumableStreamReader : IAsyncEnumerable<StreamEvent>
{
    private readonly HubStreamsClient _client;
    private readonly string _sessionId;
    private readonly string _messageId;
    private readonly Action<ReaderStatus>? _onStatus;
    private readonly bool _compact;
    private readonly CancellationToken _cancellationToken;
    private readonly IList<Uri> _urls;
    private int _url;
    private int _failuresInARow;
    private long _nextOffset;

    internal ResumableStreamReader(HubStreamsClient client, string sessionId, string messageId, long fromOffset, Action<ReaderStatus>? onStatus,
        bool compact, CancellationToken cancellationToken)
    {
        _compact = compact;
        _client = client;
        _sessionId = sessionId;
        _messageId = messageId;
        _onStatus = onStatus;
        _cancellationToken = cancellationToken;
        _urls = client.Options.HubUrls;
        _nextOffset = fromOffset;
    }

    /// <summary>The offset asked for next: the offset after the last event yielded.</summary>
    public long NextOffset => _nextOffset;

    /// <summary>The hub address in use, or tried next.</summary>
    public Uri CurrentHubUrl => _urls[_url];

    /// <summary>
    /// The identity of the stream read, from its first event: each resume presents it, so a stream lost and created
    /// again under the same ids ends the read with <see cref="StreamErrorCode.StreamReset"/> instead of mixing two streams.
    /// </summary>
    public string? StreamId { get; private set; }

    /// <summary>Events received again after a resume and not yielded; a correct server sends none.</summary>
    public long SkippedDuplicates { get; private set; }

    /// <inheritdoc />
    public IAsyncEnumerator<StreamEvent> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        ReadAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);

    private async IAsyncEnumerable<StreamEvent> ReadAsync([EnumeratorCancellation] CancellationToken enumeratorToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(enumeratorToken, _cancellationToken);
        var cancellationToken = linked.Token;
        Report(ReaderState.Connecting);
        var resumed = false;
        while (true)
        {
            await using var attempt = new Attempt(_client.Connections);
            if (await attempt.StartAsync(_urls[_url], new FollowRequest(_sessionId, _messageId, _nextOffset, StreamId, _compact), cancellationToken))
            {
                Report(resumed ? ReaderState.Resumed : ReaderState.Connected);
            }

            while (await attempt.MoveNextAsync(cancellationToken))
            {
                var streamEvent = attempt.Current;
                if (streamEvent.Offset < _nextOffset)
                {
                    SkippedDuplicates++;
                    continue; // Already yielded: never repeat.
                }

                _nextOffset = streamEvent.Offset + 1;
                _failuresInARow = 0;
                StreamId ??= streamEvent.StreamId;
                yield return streamEvent;
                if (streamEvent.IsComplete)
                {
                    yield break;
                }
            }

            resumed = true;
            await BackOffAsync(attempt, cancellationToken);
        }
    }

    // Decide what a failure means: give up on a final code, otherwise wait (or not) and pick the address to try next.
    private async Task BackOffAsync(Attempt attempt, CancellationToken cancellationToken)
    {
        var failure = attempt.Failure;
        if (failure is ObjectDisposedException disposed)
        {
            // The client was disposed: nothing is left to read on.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(disposed);
        }

        if (ServerCalls.AsFinal(failure) is { } final)
        {
            throw final;
        }

        var code = ServerCalls.CodeOf(failure);
        Report(ReaderState.Reconnecting, failure?.Message ?? "the stream ended before 'complete'");
        switch (code)
        {
            case StreamErrorCode.AccessExpired:
                // The connection's token expired: a new connection, with a fresh token, takes the next follow (and the
                // other streams on this one, which end the same way); the same node will do.
                if (attempt.Connection is { } expired)
                {
                    _client.Connections.Retire(expired);
                }

                return;
            case StreamErrorCode.ServerShuttingDown when _urls.Count > 1:
                // That node is going away: straight to the next one (with one address, wait for it to come back).
                _url = (_url + 1) % _urls.Count;
                return;
            default:
                _url = (_url + 1) % _urls.Count;
                var delay = _client.NextRetryDelay(_failuresInARow++, TimeSpan.Zero, failure)
                    ?? throw new HubStreamsException(code ?? StreamErrorCode.StoreUnavailable,
                        $"The retry policy gave up after {_failuresInARow} failures in a row: {failure?.Message ?? "the stream ended before 'complete'"}", failure);
                await Task.Delay(delay, cancellationToken);
                return;
        }
    }

    /// <summary>What the hub's <c>FollowStream</c> takes; each resume asks from the offset after the last event yielded.</summary>
    private sealed record FollowRequest(string SessionId, string MessageId, long FromOffset, string? StreamId, bool Compact);

    private void Report(ReaderState state, string? detail = null) => _onStatus?.Invoke(new ReaderStatus(state, _nextOffset, _urls[_url], detail));

    /// <summary>One follow on a shared connection. A failure, wherever it happens, ends it and is kept for the decision.</summary>
    private sealed class Attempt(SharedConnections connections) : IAsyncDisposable
    {
        private SharedConnections.Lease? _lease;
        private IAsyncEnumerator<StreamEvent>? _events;

        public StreamEvent Current => _events!.Current;

        /// <summary>The connection followed on, once there is one.</summary>
        public HubConnection? Connection => _lease?.Connection;

        /// <summary>What ended the attempt, when something did: the stream's error, or why the connection closed.</summary>
        public Exception? Failure { get; private set; }

        public async Task<bool> StartAsync(Uri url, FollowRequest request, CancellationToken cancellationToken)
        {
            try
            {
                _lease = await connections.AcquireAsync(url, holdsStream: true, cancellationToken);
                _events = _lease.Connection.StreamAsync<StreamEvent>("FollowStream", request, cancellationToken).GetAsyncEnumerator(cancellationToken);
                return true;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                Failure = e;
                return false;
            }
        }

        public async Task<bool> MoveNextAsync(CancellationToken cancellationToken)
        {
            if (_events is null)
            {
                return false;
            }

            try
            {
                return await _events.MoveNextAsync();
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                // A stream cut by its connection closing says little; the close may carry the server's code.
                var closedWith = _lease?.ClosedWith;
                Failure = ServerCalls.CodeOf(e) is null && ServerCalls.CodeOf(closedWith) is not null ? closedWith : e;
                return false;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_events is not null)
            {
                await _events.DisposeAsync();
            }

            if (_lease is not null)
            {
                await _lease.DisposeAsync();
            }
        }
    }
}
