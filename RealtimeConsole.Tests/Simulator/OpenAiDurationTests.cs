using RealtimeConsole.Simulator;

namespace RealtimeConsole.Tests.Simulator;

public sealed class OpenAiDurationTests
{
    [Theory]
    [InlineData(0, "0s")]
    [InlineData(12, "12ms")]
    [InlineData(999, "999ms")]
    [InlineData(1000, "1s")]
    [InlineData(1500, "1.5s")]
    [InlineData(1250, "1.25s")]
    [InlineData(59_999, "59.999s")]
    [InlineData(60_000, "1m0s")]
    [InlineData(360_000, "6m0s")]
    [InlineData(179_560, "2m59.56s")]
    [InlineData(3_600_000, "1h0m0s")]
    [InlineData(410_400_000, "114h0m0s")]
    public void Formats_like_OpenAI(long milliseconds, string expected) =>
        Assert.Equal(expected, OpenAiDuration.FormatMilliseconds(milliseconds));

    [Fact]
    public void Rounds_up_to_the_next_millisecond()
    {
        Assert.Equal("13ms", OpenAiDuration.Format(TimeSpan.FromTicks(120_001)));
        Assert.Equal(1, OpenAiDuration.CeilingMilliseconds(TimeSpan.FromTicks(1)));
        Assert.Equal(0, OpenAiDuration.CeilingMilliseconds(TimeSpan.FromSeconds(-1)));
    }
}
