using Bunit.TestDoubles;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using RealtimeConsole.Access;
using RealtimeConsole.Deployment;
using RealtimeConsole.Telemetry;
using MudBlazor;
using MudBlazor.Services;

namespace RealtimeConsole.Tests.Infrastructure;

/// <summary>
/// Base for every bUnit test: MudBlazor with no transitions, its own JS calls loose (our modules are set up strict
/// per test with <c>JSInterop.SetupModule</c>), and asynchronous disposal, which MudBlazor's services need.
/// </summary>
public abstract class ConsoleComponentTest : BunitContext, IAsyncLifetime
{
    // bUnit's 1 s default is too tight when the suite runs beside Chromium on two busy cores; a WaitFor that holds returns at once.
    static ConsoleComponentTest() => DefaultWaitTimeout = TimeSpan.FromSeconds(30);

    protected ConsoleComponentTest()
    {
        Services.AddMudServices(options =>
        {
            options.SnackbarConfiguration.ShowTransitionDuration = 0;
            options.SnackbarConfiguration.HideTransitionDuration = 0;
            options.PopoverOptions.CheckForPopoverProvider = false;
        });
        JSInterop.Mode = JSRuntimeMode.Loose;

        // Components render for an admin unless a test signs in someone else (SignInAs).
        Authorization = AddAuthorization();
        SignInAs(ConsoleRoles.Admin);
        Services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        Services.AddOptions();
        Services.AddMetrics();
        Services.AddSingleton<AccessMetrics>();
        Services.AddSingleton<ConsoleActionGuard>();
        Services.AddLogging();
    }

    protected BunitAuthorizationContext Authorization { get; }

    /// <summary>The deployment the /limits page shows: this instance (id <c>console-a</c>) over the test's <see cref="ITelemetryFeed"/>, alone until members are set.</summary>
    protected DeploymentMembers AddDeploymentTelemetry(DateTimeOffset startedAt)
    {
        var members = new DeploymentMembers();
        Services.AddSingleton(new ConsoleInstance("console-a", startedAt) { Address = "http://10.0.0.1:5080" });
        Services.AddSingleton(members);
        Services.AddSingleton<DeploymentTelemetry>();
        return members;
    }

    /// <summary>Renders for a user with <paramref name="role"/> and the policies that role passes.</summary>
    protected void SignInAs(string role)
    {
        Authorization.SetAuthorized($"test-{role}");
        Authorization.SetRoles(role);
        var rank = ConsoleRoles.All.ToList().IndexOf(role);
        Authorization.SetPolicies([.. new[] { AccessPolicies.Viewer, AccessPolicies.Developer, AccessPolicies.Admin }.Take(rank + 1), AccessPolicies.SignedIn]);
    }

    Task IAsyncLifetime.InitializeAsync() => Task.CompletedTask;

    async Task IAsyncLifetime.DisposeAsync() => await base.DisposeAsync();

    protected override void Dispose(bool disposing)
    {
        // xUnit disposes through IAsyncLifetime; the synchronous path would throw on MudBlazor's async-only services.
    }
}
