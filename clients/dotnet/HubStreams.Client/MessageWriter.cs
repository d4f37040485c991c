using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Client;

/// <summary>
/// Writes the stream of one message, each event exactly once: it gives every event the offset it must land at and an
/// id, and retries a failed append with the same offset and id (a conditional append), so a reply lost to a dropped
/// connection, a node's death or a Redis reconnect never stores an event twice. It follows its own stream, and
/// <see cref="StopRequested"/> fires when a reader asks the answer to stop. While it is open and appends nothing, it
/// heartbeats (<see cref="HubStreamsClientOptions.WriterHeartbeatInterval"/>), so a silent producer (a long tool call)
/// keeps its stream; a producer that dies stops heartbeating, and the server ends its stream with <c>producer_lost</c>
/// after <c>STREAM_PRODUCER_TIMEOUT</c>. Open one with <see cref="HubStreamsClient.OpenWriterAsync"/>; dispose it when done.
/// </summary>
public sealed class MessageWriter : IStreamEventWriter, IAsyncDisposable
{
    private readonly HubStreamsClient _client;
    private readonly string _sessionId;
    private readonly string _messageId;
    private readonly string _idPrefix = Guid.NewGuid().ToString("N")[..12];
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _closing = new();
    private SharedConnections.Lease? _lease;
    private CancellationTokenSource? _watching;
    private Task _stopWatch = Task.CompletedTask;
    private Task _heartbeats = Task.CompletedTask;
    private long _lastHeardAt;
    private TimeSpan _heartbeatEvery;
    private int _url;
    private string? _streamId;

    internal MessageWriter(HubStreamsClient client, string sessionId, string messageId)
    {
        _client = client;
        _sessionId = sessionId;
        _messageId = messageId;
    }

    /// <summary>The offset the next event will be stored at.</summary>
    public long NextOffset { get; private set; }

    /// <summary>Fires when a reader asks this answer to stop (a <c>stop</c> event): finish with your last events and <see cref="CompleteAsync"/>.</summary>
    public CancellationToken StopRequested => _stop.Token;

    /// <summary>The hub address the writer uses now, or tries next.</summary>
    public Uri CurrentHubUrl => _client.Options.HubUrls[_url];

    /// <summary>How many appends had to be sent again (after a failure that left it unknown whether they landed).</summary>
    public long Retries { get; private set; }

    internal async Task OpenAsync(CancellationToken cancellationToken)
    {
        var info = await WithRetriesAsync(connection => connection.InvokeAsync<StreamInfo>("GetStreamInfo", _sessionId, _messageId, cancellationToken), cancellationToken);
        if (info.Completed)
        {
            throw new HubStreamsException(StreamErrorCode.StreamCompleted, $"Stream {_sessionId}/{_messageId} is completed: open a new message.");
        }

        NextOffset = info.NextOffset;
        _streamId = info.StreamId;

        // Until the server's first answer says its deadline, a second at most: a short timeout is learnt in time.
        _heartbeatEvery = TimeSpan.FromTicks(Math.Min(_client.Options.WriterHeartbeatInterval.Ticks, TimeSpan.TicksPerSecond));
        _heartbeats = HeartbeatAsync(_closing.Token);
    }

    /// <summary>The last lease the server gave this writer's stream: its deadline for the next append or heartbeat.</summary>
    public ProducerLease? Lease { get; private set; }

    // While the writer is open: a heartbeat whenever the server has heard nothing from it (no append, no heartbeat) for an
    // interval, on the writer's connection when it is up (the next append reconnects it). Ends with the writer, or once
    // the stream ended.
    private async Task HeartbeatAsync(CancellationToken closing)
    {
        try
        {
            while (true)
            {
                var quiet = System.Diagnostics.Stopwatch.GetElapsedTime(Volatile.Read(ref _lastHeardAt));
                await Task.Delay(quiet < _heartbeatEvery ? _heartbeatEvery - quiet : TimeSpan.Zero, closing);
                if (System.Diagnostics.Stopwatch.GetElapsedTime(Volatile.Read(ref _lastHeardAt)) < _heartbeatEvery)
                {
                    continue; // An append was heard meanwhile.
                }

                if (NextOffset == 0 || _lease?.Connection is not { State: HubConnectionState.Connected } connection)
                {
                    // Nothing to keep yet, or no connection: look again in a moment.
                    Volatile.Write(ref _lastHeardAt, System.Diagnostics.Stopwatch.GetTimestamp());
                    continue;
                }

                try
                {
                    var sent = System.Diagnostics.Stopwatch.GetTimestamp();
                    var lease = await connection.InvokeAsync<ProducerLease>("Heartbeat", _sessionId, _messageId, closing);
                    Volatile.Write(ref _lastHeardAt, sent);
                    Lease = lease;
                    if (lease.ExpiresAt is { } expiresAt)
                    {
                        var third = (expiresAt - DateTimeOffset.UtcNow) / 3;
                        _heartbeatEvery = TimeSpan.FromTicks(Math.Clamp(third.Ticks, TimeSpan.FromMilliseconds(10).Ticks, _client.Options.WriterHeartbeatInterval.Ticks));
                    }
                }
                catch (Exception e) when (ServerCalls.AsFinal(e) is not null)
                {
                    // The stream ended (completed, or by the server for a lost producer) or was deleted: the next append says so.
                    return;
                }
                catch (Exception e) when (e is HubException or IOException or InvalidOperationException or TimeoutException)
                {
                    // The connection is going: tried again after the next interval.
                    Volatile.Write(ref _lastHeardAt, System.Diagnostics.Stopwatch.GetTimestamp());
                }
            }
        }
        catch (OperationCanceledException) when (closing.IsCancellationRequested)
        {
            // Closed.
        }
    }

    /// <summary>
    /// Stores <paramref name="streamEvent"/> at <see cref="NextOffset"/> and returns its offset, retrying transient
    /// failures with the same offset and id until it is stored, once. An event without an id gets one. When a reader's
    /// <c>stop</c> took the offset, the event goes after it.
    /// </summary>
    /// <exception cref="HubStreamsException">
    /// A final refusal: the stream is completed, full, or the event is invalid; or <see cref="StreamErrorCode.StreamReset"/>:
    /// the stream was lost and created again, and this writer's events are not in it, or it lost events it had
    /// acknowledged (a Redis failover without <c>REDIS_WAIT_REPLICAS</c>).
    /// </exception>
    public async Task<long> AppendAsync(StreamEvent streamEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(streamEvent);
        while (true)
        {
            var offset = NextOffset;
            // The offset goes apart from the event: an event's own offset and stream id are the server's to say.
            var outgoing = streamEvent with { Id = streamEvent.Id ?? $"{_idPrefix}-{offset}", Offset = 0, StreamId = null };
            try
            {
                var stored = await WithRetriesAsync(connection => connection.InvokeAsync<long>(
                    "AppendEventAt", _sessionId, _messageId, offset, outgoing, cancellationToken), cancellationToken);
                NextOffset = stored + 1;
                Volatile.Write(ref _lastHeardAt, System.Diagnostics.Stopwatch.GetTimestamp());
                // The stream's identity, once it has one, tells a lost and recreated stream from a reader's stop.
                _streamId ??= (await StreamInfoAsync(cancellationToken)).StreamId;
                return stored;
            }
            catch (HubStreamsException e) when (e.Code == StreamErrorCode.OffsetConflict)
            {
                // Someone else's event (a reader's stop) holds the offset: this one did not land; it goes after. But a
                // stream that was lost and created again is not this writer's to go on with.
                var info = await StreamInfoAsync(cancellationToken);
                if (_streamId is not null && info.StreamId != _streamId)
                {
                    throw new HubStreamsException(StreamErrorCode.StreamReset,
                        $"Stream {_sessionId}/{_messageId} was lost and created again (it holds {info.NextOffset} events now): this writer's events are not in it.", e);
                }

                if (info.NextOffset < offset)
                {
                    // The same stream, shorter than what it acknowledged: a Redis failover lost its last events. The
                    // writer keeps none to append again; the producer decides.
                    throw new HubStreamsException(StreamErrorCode.StreamReset,
                        $"Stream {_sessionId}/{_messageId} lost events it had acknowledged (a Redis failover): it holds {info.NextOffset} events now, and this writer had stored up to offset {offset - 1}.", e);
                }

                if (info.NextOffset == offset)
                {
                    throw;
                }

                NextOffset = info.NextOffset;
            }
        }
    }

    private Task<StreamInfo> StreamInfoAsync(CancellationToken cancellationToken) =>
        WithRetriesAsync(connection => connection.InvokeAsync<StreamInfo>("GetStreamInfo", _sessionId, _messageId, cancellationToken), cancellationToken);

    /// <summary>Stores the <c>complete</c> event, once, ending the stream.</summary>
    public Task<long> CompleteAsync(JsonElement? data = null, CancellationToken cancellationToken = default) =>
        AppendAsync(new StreamEvent { Type = EventTypes.Complete, Done = true, Data = data }, cancellationToken);

    /// <summary>Stops following the stream and lets go of the client's shared connection.</summary>
    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        await _heartbeats.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await DropAsync();
        _stop.Dispose();
        _closing.Dispose();
    }

    // Runs a call on the client's shared connection; on a failure that is not final, lets go of it and takes the one to
    // the next address (after a pause), and runs it again. A final refusal ends it with a HubStreamsException.
    private async Task<T> WithRetriesAsync<T>(Func<HubConnection, Task<T>> call, CancellationToken cancellationToken)
    {
        var failures = 0;
        while (true)
        {
            try
            {
                return await call(await ConnectedAsync(cancellationToken));
            }
            catch (Exception e) when (e is not ObjectDisposedException && (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested))
            {
                if (ServerCalls.AsFinal(e) is { } final)
                {
                    throw final;
                }

                Retries++;
                await DropAsync();
                _url = (_url + 1) % _client.Options.HubUrls.Count;
                var delay = _client.NextRetryDelay(failures++, TimeSpan.Zero, e);
                if (delay is null)
                {
                    throw;
                }

                await Task.Delay(delay.Value, cancellationToken);
            }
        }
    }

    private async Task<HubConnection> ConnectedAsync(CancellationToken cancellationToken)
    {
        if (_lease?.Connection is { State: HubConnectionState.Connected } connected)
        {
            return connected;
        }

        await DropAsync();
        _lease = await _client.Connections.AcquireAsync(_client.Options.HubUrls[_url], holdsStream: true, cancellationToken);
        _watching = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        _stopWatch = WatchForStopAsync(_lease.Connection, _watching.Token);
        return _lease.Connection;
    }

    // Stops following on the connection in use and lets go of it (others may go on using it).
    private async Task DropAsync()
    {
        if (_lease is { } lease)
        {
            _lease = null;
            await _watching!.CancelAsync();
            await _stopWatch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _watching.Dispose();
            await lease.DisposeAsync();
        }
    }

    // Follows the writer's own stream on the same connection, from where it stands, for a reader's stop.
    private async Task WatchForStopAsync(HubConnection connection, CancellationToken closing)
    {
        try
        {
            await foreach (var streamEvent in connection.StreamAsync<StreamEvent>("StreamEvents", _sessionId, _messageId, NextOffset, closing))
            {
                if (streamEvent.Type == EventTypes.Stop)
                {
                    await _stop.CancelAsync();
                    return;
                }
            }
        }
        catch (Exception e) when (e is HubException or OperationCanceledException or IOException or InvalidOperationException)
        {
            // The connection went, the writer let go of it, or it closed: the next connection watches again.
        }
    }
}
