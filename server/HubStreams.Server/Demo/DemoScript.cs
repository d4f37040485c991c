namespace HubStreams.Server.Demo;

/// <summary>What the demo agent says: a query, its thoughts, its sources, and an answer of about 200 chunks.</summary>
internal static class DemoScript
{
    public const string Query = "How does a resumable event stream survive a dropped connection?";

    /// <summary>The tool the agent calls to find its sources, what it asks, and what it gets.</summary>
    public const string ToolName = "search_docs";

    public const string ToolQuery = "resumable event stream offsets";

    public const string ToolResult = "2 documents found";

    public static readonly string[] Thoughts =
    [
        "The reader needs a position it can come back to. ",
        "Every event gets a dense offset, assigned by the store. ",
        "So a reader that reconnects asks for its last offset plus one, on any node. ",
    ];

    public const string Answer =
        "A resumable stream is an append-only list of events, and every event carries its offset, the place it holds in that list. " +
        "The producer appends thinking, answer chunks, tool calls and finally a complete event, and the store gives each one the next offset. " +
        "A reader subscribes from an offset of its choosing. It first receives every stored event from that point, then each new event the moment it is appended, " +
        "because the append itself wakes the waiting reader instead of the reader asking again and again. " +
        "When the connection drops, nothing is lost on the server: the events stay in the store until the stream expires. " +
        "The reader remembers the last offset it saw, reconnects to any node, and asks for the next one. " +
        "It receives exactly the events it missed, in order, with no gap and no duplicate, and then it is live again. " +
        "When a whole node dies, another node serves the same stream, because every node reads the shared store itself. " +
        "The complete event is the durable end marker, so a reader that resumes after the end still learns that the answer is finished, " +
        "and its subscription ends cleanly instead of waiting forever. " +
        "That is the whole trick: offsets that never change, a store that outlives connections, and wake-ups instead of polling.";

    /// <summary>The answer cut into word-sized chunks, spaces kept, so the concatenation is the answer exactly.</summary>
    public static IReadOnlyList<string> AnswerChunks { get; } = Chunk(Answer);

    private static List<string> Chunk(string text)
    {
        var chunks = new List<string>();
        var start = 0;
        for (var i = 1; i <= text.Length; i++)
        {
            if (i == text.Length || text[i - 1] == ' ')
            {
                chunks.Add(text[start..i]);
                start = i;
            }
        }

        return chunks;
    }
}
