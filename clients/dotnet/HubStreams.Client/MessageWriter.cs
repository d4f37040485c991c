using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Client;

/// <summary>
/// Writes the stream of one message, each event exactly once: it gives every event the offset it must land at and an
/// id, and retries a failed append with the same offset and id (a conditional append), so a reply lost to a dropped
/// connection, a node's death or a Redis reconnect never stores an event twice. It follows its own stream, and
/// <see cref="StopRequested"/> fires when a reader asks the answer to stop. Open one with
/// <see cref="HubStreamsClient.OpenWriterAsync"/>; dispose it when done.
/// </summary>
public sealed class MessageWriter : IStreamEventWriter, IAsyncDisposable
{
    private readonly HubStreamsClient _client;
    private readonly string _sessionId;
    private readonly string _messageId;
    private readonly string _idPrefix = Guid.NewGuid().ToString("N")[..12];
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _closing = new();
    private HubConnection? _connection;
    private Task _stopWatch = Task.CompletedTask;
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

    /// <summary>Stops following the stream and closes the writer's connection.</summary>
    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        await _stopWatch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        _stop.Dispose();
        _closing.Dispose();
    }

    // Runs a call on the writer's connection; on a failure that is not final, connects again (the next address,
    // after a pause) and runs it again. A final refusal ends it with a HubStreamsException.
    private async Task<T> WithRetriesAsync<T>(Func<HubConnection, Task<T>> call, CancellationToken cancellationToken)
    {
        var failures = 0;
        while (true)
        {
            try
            {
                return await call(await ConnectedAsync(cancellationToken));
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
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
        if (_connection is { State: HubConnectionState.Connected } connected)
        {
            return connected;
        }

        await DropAsync();
        var connection = _client.CreateConnection(_client.Options.HubUrls[_url]);
        await connection.StartAsync(cancellationToken);
        _connection = connection;
        _stopWatch = WatchForStopAsync(connection, _closing.Token);
        return connection;
    }

    private async Task DropAsync()
    {
        if (_connection is { } connection)
        {
            _connection = null;
            await connection.DisposeAsync();
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
            // The connection went, or the writer closed: a new connection watches again.
        }
    }
}
