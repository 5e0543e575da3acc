using System.Text.RegularExpressions;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Hosting;

/// <summary>
/// Dependencies point one way: the broker (Tokens → Upstream → RateLimits → Deployment, the shared store at the bottom)
/// knows nothing of who watches it (Telemetry), and no product feature reaches into the simulator or the bench, which
/// stand beside the product, not under it.
/// </summary>
public sealed partial class FeatureDependencyTests
{
    private static readonly string AppRoot = Path.Combine(RepositoryRoot.Path, "RealtimeConsole");

    /// <summary>Each feature folder and the features its source names (usings and qualified names).</summary>
    private static Dictionary<string, (string File, string Feature)[]> References() =>
        Directory.GetDirectories(AppRoot)
            .Select(Path.GetFileName)
            .Where(folder => folder is not ("bin" or "obj" or "wwwroot" or "Properties"))
            .ToDictionary(
                folder => folder!,
                folder => Directory.EnumerateFiles(Path.Combine(AppRoot, folder!), "*.*", SearchOption.AllDirectories)
                    .Where(file => file.EndsWith(".cs", StringComparison.Ordinal) || file.EndsWith(".razor", StringComparison.Ordinal))
                    .SelectMany(file => FeatureReference().Matches(File.ReadAllText(file))
                        .Select(m => (File: Path.GetRelativePath(AppRoot, file), Feature: m.Groups[1].Value)))
                    .Where(r => r.Feature != folder)
                    .Distinct()
                    .ToArray());

    [Theory]
    [InlineData("Tokens", "Telemetry")]
    [InlineData("Upstream", "Telemetry")]
    [InlineData("RateLimits", "Telemetry")]
    [InlineData("Upstream", "Tokens")]
    [InlineData("RateLimits", "Tokens")]
    [InlineData("RateLimits", "Upstream")]
    [InlineData("Deployment", "Tokens")]
    [InlineData("Deployment", "Upstream")]
    [InlineData("Deployment", "RateLimits")]
    [InlineData("Deployment", "Telemetry")]
    [InlineData("Deployment", "Components")]
    public void The_broker_does_not_reference_what_sits_above_it(string folder, string forbidden)
    {
        var offending = References()[folder].Where(r => r.Feature == forbidden).Select(r => r.File).ToList();

        Assert.True(offending.Count == 0, $"{folder} references {forbidden} in: {string.Join(", ", offending)}");
    }

    [Fact]
    public void No_product_feature_references_the_simulator_or_the_bench()
    {
        // The simulator and the bench stand beside the product; the composition root wires them in, and the simulator's own pages live in Components.
        string[] besideTheProduct = ["Simulator", "Bench"];
        var offending = References()
            .Where(folder => folder.Key is not ("Simulator" or "Bench" or "Hosting"))
            .SelectMany(folder => folder.Value
                .Where(r => besideTheProduct.Contains(r.Feature))
                .Where(r => !(folder.Key == "Components" && r.Feature == "Simulator" && IsSimulatorScreen(r.File)))
                .Select(r => $"{r.File} → {r.Feature}"))
            .ToList();

        Assert.True(offending.Count == 0, "Product code references the simulator or the bench: " + string.Join("; ", offending));
    }

    [Fact]
    public void The_rules_see_real_references()
    {
        // Guards the scan itself: Telemetry does read the broker, and Hosting wires everything.
        var references = References();
        Assert.Contains(references["Telemetry"], r => r.Feature == "Tokens");
        Assert.Contains(references["Hosting"], r => r.Feature == "Simulator");
        Assert.Contains(references["RateLimits"], r => r.Feature == "Deployment");
    }

    /// <summary>The simulator's own page and panels, and the shell's link to it (shown only while the simulator is on).</summary>
    private static bool IsSimulatorScreen(string file) =>
        Path.GetFileName(file).StartsWith("Simulator", StringComparison.Ordinal) || Path.GetFileName(file) == "NavMenu.razor";

    [GeneratedRegex(@"\bRealtimeConsole\.(\w+)")]
    private static partial Regex FeatureReference();
}
