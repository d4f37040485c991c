using HubStreams.Contracts;

namespace HubStreams.Tests.Errors;

/// <summary>The error table itself: one row per code, and the code read back from a hub error's message.</summary>
public sealed class ErrorTableTests
{
    [Fact]
    public void Every_code_has_exactly_its_own_row()
    {
        var codes = Enum.GetValues<StreamErrorCode>();
        Assert.Equal(codes.Length, StreamErrors.All.Count);
        foreach (var code in codes)
        {
            var row = StreamErrors.Describe(code);
            Assert.Equal(code, row.Code);
            Assert.InRange(row.HttpStatus, 400, 599);
        }
    }

    [Theory]
    [InlineData("StreamNotFound: Stream s/m does not exist.", StreamErrorCode.StreamNotFound)]
    [InlineData("An unexpected error occurred invoking 'AppendEvent' on the server. HubException: StreamCompleted: Stream s/m is completed.", StreamErrorCode.StreamCompleted)]
    [InlineData("The server closed the connection with the following error: Connection closed with an error. HubException: TooManyConnections: Too many.", StreamErrorCode.TooManyConnections)]
    [InlineData("Connection refused", null)]
    [InlineData("Nonsense: not a code", null)]
    [InlineData("3: a number is no code", null)]
    [InlineData("", null)]
    public void A_hub_error_message_is_read_back_to_its_code(string message, StreamErrorCode? expected) =>
        Assert.Equal(expected, StreamErrors.FromMessage(message));

    [Theory]
    [InlineData(StreamErrorCode.StreamNotFound, true)]
    [InlineData(StreamErrorCode.AccessDenied, true)]
    [InlineData(StreamErrorCode.InvalidOffset, true)]
    [InlineData(StreamErrorCode.StoreUnavailable, false)]
    [InlineData(StreamErrorCode.ServerShuttingDown, false)]
    [InlineData(StreamErrorCode.AccessExpired, false)]
    public void Clients_give_up_only_on_final_codes(StreamErrorCode code, bool final) =>
        Assert.Equal(final, StreamErrors.Describe(code).IsFinal);
}
