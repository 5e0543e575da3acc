using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Components.Pages;
using RealtimeConsole.Simulator;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Simulator;

public sealed class SimulatorPageTests : ConsoleComponentTest
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));

    public SimulatorPageTests()
    {
        Services.AddSingleton<TimeProvider>(_time);
        Services.AddSingleton(Options.Create(new SimulatorOptions()));
        Services.AddSingleton<SimulatorRateLimiter>();
        Services.AddSingleton<SimulatorFaults>();
        Services.AddSingleton<SimulatorStats>();
        Services.AddSingleton<SimulatorPresets>();
        Services.AddSingleton<SimulatorChangeNotifier>();
    }

    private SimulatorRateLimiter Limiter => Services.GetRequiredService<SimulatorRateLimiter>();

    private SimulatorStats Stats => Services.GetRequiredService<SimulatorStats>();

    private SimulatorChangeNotifier Notifier => Services.GetRequiredService<SimulatorChangeNotifier>();

    [Fact]
    public void Shows_every_resources_limit_and_bucket_level_and_an_empty_request_list()
    {
        Limiter.TryAcquire(SimulatorResource.Calls);

        var cut = Render<SimulatorPage>();

        Assert.Equal("60 / 60 left", cut.Find("[data-testid=limit-client_secrets] [data-testid=bucket-level]").TextContent.Trim());
        Assert.Equal("59 / 60 left", cut.Find("[data-testid=limit-calls] [data-testid=bucket-level]").TextContent.Trim());
        Assert.Equal(("full", "1 s"), (cut.Find("[data-testid=limit-client_secrets] [data-testid=bucket-reset]").TextContent.Trim(), cut.Find("[data-testid=limit-calls] [data-testid=bucket-reset]").TextContent.Trim()));
        Assert.NotNull(cut.Find("[data-testid=limit-responses]"));
        Assert.NotNull(cut.Find("[data-testid=recent-empty]"));
    }

    [Fact]
    public void Editing_a_limit_applies_it_at_once()
    {
        var cut = Render<SimulatorPage>();

        cut.Find("[data-testid=limit-calls] input").Input("5");
        cut.Find("[data-testid=limit-calls] button[data-testid=limit-apply]").Click();

        Assert.Equal(5, Limiter.GetLimit(SimulatorResource.Calls));
        _time.Advance(SimulatorChangeNotifier.Interval);
        cut.WaitForAssertion(() => Assert.Equal("5 / 5 left", cut.Find("[data-testid=limit-calls] [data-testid=bucket-level]").TextContent.Trim()));
    }

    [Fact]
    public void Typing_a_limit_enables_apply_at_once_and_enter_applies_it()
    {
        var cut = Render<SimulatorPage>();

        cut.Find("[data-testid=limit-responses] input").Input("7");
        Assert.False(cut.Find("[data-testid=limit-responses] button[data-testid=limit-apply]").HasAttribute("disabled"));
        cut.Find("[data-testid=limit-responses] input").KeyDown(new Microsoft.AspNetCore.Components.Web.KeyboardEventArgs { Key = "Enter" });

        Assert.Equal(7, Limiter.GetLimit(SimulatorResource.Responses));
    }

    [Fact]
    public void Traffic_appears_live_through_the_coalescing_notifier()
    {
        var cut = Render<SimulatorPage>();

        Stats.Record(SimulatorEndpoint.ClientSecrets, new SimulatorRequestRecord(_time.GetUtcNow(), "POST", "/simulator/v1/realtime/client_secrets", 429, "req_0123", "rate_limit_exceeded"));
        Stats.Record(SimulatorEndpoint.ClientSecrets, new SimulatorRequestRecord(_time.GetUtcNow(), "POST", "/simulator/v1/realtime/client_secrets", 200, "req_4567", null));
        Notifier.Notify();
        Assert.Equal("0", cut.Find("[data-testid=counter-client_secrets] [data-testid=counter-total]").TextContent);

        _time.Advance(SimulatorChangeNotifier.Interval);

        cut.WaitForAssertion(() => Assert.Equal("2", cut.Find("[data-testid=counter-client_secrets] [data-testid=counter-total]").TextContent));
        Assert.Contains("429 × 1", cut.Find("[data-testid=counter-client_secrets] [data-testid=status-429]").TextContent, StringComparison.Ordinal);
        Assert.Contains("req_0123", cut.Find("[data-testid=simulator-recent]").TextContent, StringComparison.Ordinal);
        Assert.Contains("rate_limit_exceeded", cut.Find("[data-testid=simulator-recent]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void A_fault_counts_down_on_the_simulators_clock_and_ends()
    {
        var cut = Render<SimulatorPage>();

        cut.Find("[data-testid=fault-rate_limit_storm] button[data-testid=fault-start]").Click();
        _time.Advance(SimulatorChangeNotifier.Interval);
        cut.WaitForAssertion(() => Assert.Contains("20 s left", cut.Find("[data-testid=fault-rate_limit_storm] [data-testid=fault-countdown]").TextContent, StringComparison.Ordinal));
        Assert.NotNull(Services.GetRequiredService<SimulatorFaults>().Find(SimulatorFaultKind.RateLimitStorm, SimulatorResource.ClientSecrets));

        _time.Advance(TimeSpan.FromSeconds(5));
        cut.WaitForAssertion(() => Assert.Contains("15 s left", cut.Find("[data-testid=fault-rate_limit_storm] [data-testid=fault-countdown]").TextContent, StringComparison.Ordinal), TimeSpan.FromSeconds(15));

        // Fifteen simulated seconds are fifteen redraws queued at once; on a busy machine they need more than the default second.
        _time.Advance(TimeSpan.FromSeconds(15));
        cut.WaitForAssertion(() => Assert.Empty(cut.FindAll("[data-testid=fault-rate_limit_storm] [data-testid=fault-countdown]")), TimeSpan.FromSeconds(15));
    }

    [Fact]
    public void Presets_apply_from_the_page()
    {
        var cut = Render<SimulatorPage>();

        cut.Find("button[data-testid=preset-free]").Click();

        Assert.All(SimulatorResources.All, r => Assert.Equal(3, Limiter.GetLimit(r)));
        _time.Advance(SimulatorChangeNotifier.Interval);
        cut.WaitForAssertion(() => Assert.Equal("3 / 3 left", cut.Find("[data-testid=limit-client_secrets] [data-testid=bucket-level]").TextContent.Trim()));
    }

    [Fact]
    public async Task Disposing_the_page_unsubscribes_from_live_updates()
    {
        var cut = Render<SimulatorPage>();
        Assert.Equal(1, Notifier.SubscriberCount);

        await DisposeComponentsAsync();

        Assert.Equal(0, Notifier.SubscriberCount);
        Notifier.Notify();
        _time.Advance(TimeSpan.FromSeconds(2));
    }
}
