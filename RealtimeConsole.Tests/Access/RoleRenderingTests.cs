using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Access;
using RealtimeConsole.Components.Layout;
using RealtimeConsole.Components.Panels;
using RealtimeConsole.Telemetry;
using RealtimeConsole.Tests.Components;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Tokens;

namespace RealtimeConsole.Tests.Access;

/// <summary>The navigation and the dashboard's actions show only what the role may use.</summary>
public sealed class RoleRenderingTests : ConsoleComponentTest
{
    private readonly FakeTelemetryActions _actions = new();

    public RoleRenderingTests()
    {
        Services.AddSingleton<TimeProvider>(new FakeTimeProvider());
        Services.AddSingleton<ITelemetryActions>(_actions);
    }

    [Theory]
    [InlineData(ConsoleRoles.Viewer, new[] { "limits" })]
    [InlineData(ConsoleRoles.Developer, new[] { "", "limits" })]
    [InlineData(ConsoleRoles.Admin, new[] { "", "limits", "simulator" })]
    public void The_navigation_links_only_the_pages_of_the_role(string role, string[] links)
    {
        SignInAs(role);

        var cut = Render<NavMenu>();

        Assert.Equal(links, cut.FindAll("a").Select(a => a.GetAttribute("href")!.TrimStart('/')).ToArray());
    }

    [Fact]
    public void A_viewer_gets_the_exports_but_no_mode_refresh_or_reset()
    {
        SignInAs(ConsoleRoles.Viewer);

        var cut = Render<LimitsActionsPanel>(p => p.Add(c => c.Mode, SecretMode.Shared));

        Assert.Empty(cut.FindAll("[data-testid=force-refresh]"));
        Assert.Empty(cut.FindAll("[data-testid=reset-counters]"));
        Assert.Empty(cut.FindAll("[data-testid=mode-select]"));
        Assert.NotEmpty(cut.FindAll("[data-testid=export-json]"));
        Assert.NotEmpty(cut.FindAll("[data-testid=export-csv]"));
    }

    [Fact]
    public void An_admin_gets_every_action()
    {
        var cut = Render<LimitsActionsPanel>(p => p.Add(c => c.Mode, SecretMode.Shared));

        cut.Find("button[data-testid=reset-counters]").Click();

        Assert.Equal(1, _actions.Resets);
        Assert.NotEmpty(cut.FindAll("[data-testid=force-refresh]"));
    }

    [Fact]
    public async Task The_action_guard_refuses_a_role_without_the_policy_and_records_it()
    {
        var services = new ServiceCollection().AddLogging().AddMetrics().AddAuthorizationCore(o =>
        {
            o.AddPolicy(AccessPolicies.Admin, p => p.RequireRole(ConsoleRoles.Admin));
        }).AddSingleton<AccessMetrics>().AddSingleton<ConsoleActionGuard>().BuildServiceProvider();
        var guard = services.GetRequiredService<ConsoleActionGuard>();
        var viewer = ConsoleRoles.Principal("test", "sam", ConsoleRoles.Viewer);
        var admin = ConsoleRoles.Principal("test", "ada", ConsoleRoles.Admin);

        Assert.False(await guard.AllowsAsync(viewer, AccessPolicies.Admin, "reset the counters"));
        Assert.True(await guard.AllowsAsync(admin, AccessPolicies.Admin, "reset the counters"));
        Assert.False(await guard.AllowsAsync(new ClaimsPrincipal(new ClaimsIdentity()), AccessPolicies.Admin, "reset the counters"));
    }
}
