using Microsoft.Extensions.DependencyInjection;
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
    static ConsoleComponentTest() => DefaultWaitTimeout = TimeSpan.FromSeconds(10);

    protected ConsoleComponentTest()
    {
        Services.AddMudServices(options =>
        {
            options.SnackbarConfiguration.ShowTransitionDuration = 0;
            options.SnackbarConfiguration.HideTransitionDuration = 0;
            options.PopoverOptions.CheckForPopoverProvider = false;
        });
        JSInterop.Mode = JSRuntimeMode.Loose;
    }

    Task IAsyncLifetime.InitializeAsync() => Task.CompletedTask;

    async Task IAsyncLifetime.DisposeAsync() => await base.DisposeAsync();

    protected override void Dispose(bool disposing)
    {
        // xUnit disposes through IAsyncLifetime; the synchronous path would throw on MudBlazor's async-only services.
    }
}
