using System.Text.Json;
using System.Text.Json.Nodes;

namespace RealtimeConsole.VoiceSession;

/// <summary>What the page does when the model calls one of its tools.</summary>
public interface IPageToolTarget
{
    Task SetThemeAsync(bool dark);

    Task HighlightPanelAsync(string panel);

    Task ShowToastAsync(string message, string severity);
}

public sealed record ToolCallRecord(string CallId, string Name, string Arguments, string Output, bool Succeeded, DateTimeOffset At);

/// <summary>The tools the page declares in <c>session.update</c> and runs when the model calls them.</summary>
public static class PageTools
{
    public static readonly IReadOnlyList<string> Panels = ["settings", "audio", "transcript", "tools", "log", "stats"];

    public static readonly IReadOnlyList<string> Severities = ["info", "success", "warning", "error"];

    public static IReadOnlyList<JsonObject> Definitions() =>
    [
        Function("set_theme", "Switch the console between the light and dark theme.", new JsonObject
        {
            ["theme"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray("light", "dark") },
        }, "theme"),
        Function("highlight_panel", "Draw attention to one panel of the voice session page.", new JsonObject
        {
            ["panel"] = new JsonObject { ["type"] = "string", ["enum"] = Array(Panels) },
        }, "panel"),
        Function("show_toast", "Show a short notification to the developer.", new JsonObject
        {
            ["message"] = new JsonObject { ["type"] = "string" },
            ["severity"] = new JsonObject { ["type"] = "string", ["enum"] = Array(Severities) },
        }, "message"),
    ];

    /// <summary>Runs one call; bad arguments become an error output for the model instead of an exception.</summary>
    public static async Task<(bool Succeeded, string Output)> ExecuteAsync(IPageToolTarget target, string name, string arguments)
    {
        JsonObject args;
        try
        {
            args = JsonNode.Parse(string.IsNullOrWhiteSpace(arguments) ? "{}" : arguments) as JsonObject
                ?? throw new JsonException("arguments are not a JSON object");
        }
        catch (JsonException ex)
        {
            return Fail($"arguments are not valid JSON: {ex.Message}");
        }

        try
        {
            return await RunAsync(target, name, args);
        }
        catch (InvalidOperationException ex)
        {
            // The page could not do it (e.g. no layout to switch the theme of): the model hears why.
            return Fail(ex.Message);
        }
    }

    private static async Task<(bool Succeeded, string Output)> RunAsync(IPageToolTarget target, string name, JsonObject args)
    {
        switch (name)
        {
            case "set_theme":
                var theme = Text(args, "theme");
                if (theme is not ("light" or "dark"))
                {
                    return Fail("theme must be \"light\" or \"dark\"");
                }

                await target.SetThemeAsync(theme == "dark");
                return Ok(new JsonObject { ["theme"] = theme });
            case "highlight_panel":
                var panel = Text(args, "panel");
                if (panel is null || !Panels.Contains(panel))
                {
                    return Fail($"panel must be one of {string.Join(", ", Panels)}");
                }

                await target.HighlightPanelAsync(panel);
                return Ok(new JsonObject { ["highlighted"] = panel });
            case "show_toast":
                var message = Text(args, "message");
                if (string.IsNullOrWhiteSpace(message))
                {
                    return Fail("message is required");
                }

                var severity = Text(args, "severity") ?? "info";
                if (!Severities.Contains(severity))
                {
                    return Fail($"severity must be one of {string.Join(", ", Severities)}");
                }

                await target.ShowToastAsync(message, severity);
                return Ok(new JsonObject { ["shown"] = message });
            default:
                return Fail($"unknown tool '{name}'");
        }
    }

    private static (bool, string) Ok(JsonObject result)
    {
        result["ok"] = true;
        return (true, result.ToJsonString());
    }

    private static (bool, string) Fail(string error) => (false, new JsonObject { ["ok"] = false, ["error"] = error }.ToJsonString());

    private static string? Text(JsonObject args, string key) =>
        args[key] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static JsonArray Array(IEnumerable<string> values) => new([.. values.Select(v => (JsonNode)JsonValue.Create(v))]);

    private static JsonObject Function(string name, string description, JsonObject properties, string required) => new()
    {
        ["type"] = "function",
        ["name"] = name,
        ["description"] = description,
        ["parameters"] = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = properties,
            ["required"] = new JsonArray(required),
        },
    };
}
