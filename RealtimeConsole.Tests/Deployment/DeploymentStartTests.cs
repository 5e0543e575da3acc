using Microsoft.Extensions.Configuration;
using RealtimeConsole.Deployment;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Deployment;

/// <summary>How the shared store is chosen, and what a person sees when its setting cannot work.</summary>
public sealed class DeploymentStartTests
{
    private static IConfiguration Settings(params (string Key, string? Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, s.Value))).Build();

    [Fact]
    public void The_store_is_memory_alone_redis_with_a_connection_string_and_memory_when_told_so()
    {
        Assert.Equal(StateStoreKind.Memory, DeploymentOptions.ResolveStore(Settings()));
        Assert.Equal(StateStoreKind.Redis, DeploymentOptions.ResolveStore(Settings(("ConnectionStrings:Redis", "127.0.0.1:6379"))));
        Assert.Equal(StateStoreKind.Memory, DeploymentOptions.ResolveStore(Settings(("ConnectionStrings:Redis", "127.0.0.1:6379"), ("Realtime:Store", "memory"))));
        var wrong = Assert.Throws<DeploymentConfigurationException>(() => DeploymentOptions.ResolveStore(Settings(("Realtime:Store", "Postgres"))));
        Assert.Contains("must be Memory or Redis", wrong.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "ConnectionStrings:Redis is empty")]
    [InlineData("ssl=maybe", "cannot be read")]
    [InlineData("password=secret", "names no server")]
    public void A_connection_string_that_cannot_work_is_named_in_words(string connectionString, string expected)
    {
        var error = Assert.Throws<DeploymentConfigurationException>(() => DeploymentOptions.ParseRedis(connectionString, TimeSpan.FromSeconds(1)));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unreachable_server_is_no_start_up_error_the_instance_starts_degraded()
    {
        var options = DeploymentOptions.ParseRedis("127.0.0.1:1", TimeSpan.FromMilliseconds(300));
        Assert.False(options.AbortOnConnectFail);
        Assert.Equal(300, options.AsyncTimeout);
    }

    [Fact]
    public async Task Starting_the_console_with_a_store_it_cannot_use_prints_one_sentence_and_exits_2()
    {
        var exit = await ConsoleProcess.RunUntilExitAsync(("Realtime__Store", "Redis"), ("ConnectionStrings__Redis", ""));

        Assert.Equal(2, exit.Code);
        Assert.Contains("RealtimeConsole cannot start: Realtime:Store is Redis but ConnectionStrings:Redis is empty", exit.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", exit.Everything, StringComparison.Ordinal);
    }
}
