using System.Text;
using HubStreams.Streams;
using HubStreams.Streams.Redis;

namespace HubStreams.Tests.Streams;

/// <summary>
/// The wake-up a node hears on a stream's channel, read from its bytes: what the scripts publish is understood, and
/// anything else on the channel (another program's message, a truncated one) is ignored rather than believed.
/// </summary>
public sealed class WakeUpMessageTests
{
    [Fact]
    public void A_bare_wake_up_says_the_stream_and_its_new_length()
    {
        var wakeUp = Parse("s1:m1:42")!;
        Assert.Equal(("s1", "m1", 42L, false), (wakeUp.Key.SessionId, wakeUp.Key.MessageId, wakeUp.Length, wakeUp.Gone));
        Assert.Null(wakeUp.StreamId);
        Assert.Null(wakeUp.Carried());
    }

    [Fact]
    public void A_wake_up_that_carries_events_gives_them_with_their_offsets_and_identity()
    {
        var wakeUp = Parse("s1:m1:3:0123456789abcdef\n{\"type\":\"answer\",\"content\":\"a\"}\n{\"type\":\"complete\"}")!;
        var page = wakeUp.Carried()!;
        Assert.Equal([1L, 2L], page.Events.Select(e => e.Offset));
        Assert.Equal(["answer", "complete"], page.Events.Select(e => e.Type));
        Assert.All(page.Events, e => Assert.Equal("0123456789abcdef", e.StreamId));
        Assert.True(page.Completed);
        Assert.Equal(3, page.Length);
    }

    [Fact]
    public void A_deletion_wakes_the_readers_of_the_stream_it_names()
    {
        var wakeUp = Parse("s1:m1:gone")!;
        Assert.True(wakeUp.Gone);
        Assert.Equal("m1", wakeUp.Key.MessageId);
    }

    [Theory]
    [InlineData("")]
    [InlineData("s1")]
    [InlineData("s1:m1")]
    [InlineData("s1:m1:")]
    [InlineData("s1:m1:-1")]
    [InlineData("s1:m1:+1")]
    [InlineData("s1:m1: 1")]
    [InlineData("s1:m1:1x")]
    [InlineData("s1:m1:99999999999999999999")]
    [InlineData("s1:m1:5:0123456789abcdef")]
    [InlineData("s1:m1:5\n{\"type\":\"answer\"}")]
    [InlineData("s1:m1:5:a:b\n{\"type\":\"answer\"}")]
    [InlineData("s1:m1:1:id\n{\"type\":\"answer\"}\n{\"type\":\"answer\"}")]
    [InlineData("s 1:m1:1")]
    [InlineData("s1::1")]
    [InlineData("s1:m1:gone\n{\"type\":\"answer\"}")]
    [InlineData("s1:m1:gone:extra")]
    public void Anything_else_on_the_channel_is_ignored(string message) => Assert.Null(Parse(message));

    [Fact]
    public void On_a_stream_s_own_channel_a_wake_up_is_read_when_it_names_that_stream_and_no_other()
    {
        var subscribed = StreamKey.Create("s1", "m1");
        var wakeUp = WakeUpMessage.Parse(Encoding.UTF8.GetBytes("s1:m1:7"), subscribed)!;
        Assert.Equal((subscribed, 7L), (wakeUp.Key, wakeUp.Length));
        Assert.True(WakeUpMessage.Parse(Encoding.UTF8.GetBytes("s1:m1:gone"), subscribed)!.Gone);

        Assert.Null(WakeUpMessage.Parse(Encoding.UTF8.GetBytes("s1:m2:7"), subscribed));
        Assert.Null(WakeUpMessage.Parse(Encoding.UTF8.GetBytes("s11:m1:7"), subscribed));
        Assert.Null(WakeUpMessage.Parse(Encoding.UTF8.GetBytes("S1:m1:7"), subscribed));
        Assert.Null(WakeUpMessage.Parse(Encoding.UTF8.GetBytes("s1:m1:x"), subscribed));
    }

    private static WakeUpMessage? Parse(string message) => WakeUpMessage.Parse(Encoding.UTF8.GetBytes(message));
}
