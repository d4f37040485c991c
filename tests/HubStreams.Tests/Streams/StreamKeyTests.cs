using HubStreams.Streams;

namespace HubStreams.Tests.Streams;

/// <summary>A stream's key names one stream, whichever strings its ids arrive in: the dictionaries of a node rely on it.</summary>
public sealed class StreamKeyTests
{
    [Fact]
    public void Keys_of_the_same_ids_are_one_key_and_keys_that_differ_in_either_id_are_not()
    {
        // Made from separate strings, as ids read from two requests are.
        var key = StreamKey.Create(new string(['s', '1']), new string(['m', '1']));
        var same = StreamKey.Create("s1", "m1");
        Assert.Equal(same, key);
        Assert.True(key == same);
        Assert.Equal(same.GetHashCode(), key.GetHashCode());

        var streams = new Dictionary<StreamKey, string> { [same] = "held" };
        Assert.Equal("held", streams[key]);

        Assert.NotEqual(same, StreamKey.Create("s1", "m2"));
        Assert.NotEqual(same, StreamKey.Create("s2", "m1"));
        Assert.NotEqual(same, StreamKey.Create("S1", "m1"));
        Assert.NotEqual(StreamKey.Create("s1", "m1"), StreamKey.Create("m1", "s1"));
        Assert.False(streams.ContainsKey(StreamKey.Create("s1", "m11")));
        Assert.NotEqual(default, same);
    }
}
