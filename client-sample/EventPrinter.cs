using HubStreams.Client;
using HubStreams.Contracts;

namespace HubStreams.ClientSample;

/// <summary>Prints events as a person wants to read them: the answer as flowing text, the rest on lines of their own.</summary>
internal static class EventPrinter
{
    private static bool _inAnswer;

    /// <summary>Prints the reader's status on a line of its own, on standard error.</summary>
    public static void PrintStatus(ReaderStatus status)
    {
        // The line break goes to standard error too, so standard output stays exactly the events' text.
        if (_inAnswer)
        {
            Console.Error.WriteLine();
        }

        var where = status.State is ReaderState.Resumed or ReaderState.Reconnecting ? $" at offset {status.NextOffset}" : "";
        var why = status.Detail is null ? "" : $": {status.Detail}";
        Console.Error.WriteLine($"[{status.State.ToString().ToLowerInvariant()}{where}{why}]");
    }

    public static void Print(StreamEvent streamEvent)
    {
        if (streamEvent.Type == EventTypes.Answer)
        {
            Console.Write(streamEvent.Content);
            _inAnswer = true;
            return;
        }

        EndAnswerLine();
        var detail = streamEvent.Content is { Length: > 0 } content ? $" {content}" : streamEvent.Data is { } data ? $" {data.GetRawText()}" : "";
        Console.WriteLine($"[{streamEvent.Offset} {streamEvent.Type}]{detail}");
    }

    private static void EndAnswerLine()
    {
        if (_inAnswer)
        {
            Console.WriteLine();
            _inAnswer = false;
        }
    }
}
