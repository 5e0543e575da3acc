using RealtimeConsole.Bench;

namespace RealtimeConsole.Tests.Bench;

public sealed class BenchCommandTests
{
    [Fact]
    public async Task Bench_command_rejects_unknown_arguments()
    {
        Assert.Equal(2, await BenchCommand.RunAsync(["--scenario", "nope"]));
        Assert.Equal(2, await BenchCommand.RunAsync(["--strategies", "seed,magic"]));
        Assert.Equal(2, await BenchCommand.RunAsync(["--steady-minutes", "99"]));
    }
}
