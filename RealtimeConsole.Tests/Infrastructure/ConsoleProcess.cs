using System.Diagnostics;

namespace RealtimeConsole.Tests.Infrastructure;

/// <summary>The built console as a real process (what a person runs), for start-up failures that end it.</summary>
public static class ConsoleProcess
{
    /// <summary>What the process printed before it exited.</summary>
    public sealed record Exit(int Code, string StandardError, string StandardOutput)
    {
        public string Everything => StandardError + StandardOutput;
    }

    /// <summary>Starts the console on a free loopback port with <paramref name="environment"/> (no OpenAI key) and waits up to a minute for it to exit.</summary>
    public static async Task<Exit> RunUntilExitAsync(params (string Name, string Value)[] environment)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "RealtimeConsole.dll"), "--urls", "http://127.0.0.1:0" },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.Environment["OPENAI_API_KEY"] = "";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(patience.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("The console did not exit within 60 s, though its settings cannot work.");
        }

        return new Exit(process.ExitCode, await stderr, await stdout);
    }
}
