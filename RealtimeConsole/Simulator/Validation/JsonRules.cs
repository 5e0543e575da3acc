using System.Globalization;
using System.Text.Json;

namespace RealtimeConsole.Simulator.Validation;

/// <summary>
/// Checks one JSON value after another against a schema's constraints and keeps the first failure as OpenAI words it
/// (<c>invalid_type</c>, <c>invalid_value</c>, <c>unknown_parameter</c>, <c>integer_above_max_value</c>…, with the
/// dotted <c>param</c>, array items as <c>[i]</c>). Each check answers whether the value passed, so callers can stop.
/// </summary>
public sealed class JsonRules
{
    public OpenAiError? Error { get; private set; }

    public bool Failed => Error is not null;

    public static string Child(string param, string name) => param.Length == 0 ? name : param + "." + name;

    public static string Item(string param, int index) => string.Create(CultureInfo.InvariantCulture, $"{param}[{index}]");

    public bool Fail(OpenAiError error)
    {
        Error ??= error;
        return false;
    }

    public bool Fail(string message, string param, string code) => Fail(OpenAiError.InvalidRequest(message, param, code));

    public bool WrongType(JsonElement value, string param, string expected) =>
        Fail($"Invalid type for '{param}': expected {expected}, but got {Describe(value)} instead.", param, "invalid_type");

    /// <summary>An object whose properties are all in <paramref name="known"/>; anything else is an unknown parameter.</summary>
    public bool Object(JsonElement value, string param, params ReadOnlySpan<string> known)
    {
        if (Failed)
        {
            return false;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            return WrongType(value, param, "an object");
        }

        foreach (var property in value.EnumerateObject())
        {
            if (!Contains(known, property.Name))
            {
                return Fail($"Unknown parameter: '{Child(param, property.Name)}'.", Child(param, property.Name), "unknown_parameter");
            }
        }

        return true;
    }

    public bool Required(JsonElement parent, string name, string param, out JsonElement value)
    {
        if (parent.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null)
        {
            return !Failed;
        }

        return Fail($"Missing required parameter: '{Child(param, name)}'.", Child(param, name), "missing_required_parameter");
    }

    public bool String(JsonElement value, string param) =>
        !Failed && (value.ValueKind == JsonValueKind.String || WrongType(value, param, "a string"));

    public bool Boolean(JsonElement value, string param) =>
        !Failed && (value.ValueKind is JsonValueKind.True or JsonValueKind.False || WrongType(value, param, "a boolean"));

    public bool Enum(JsonElement value, string param, params ReadOnlySpan<string> allowed)
    {
        if (!String(value, param))
        {
            return false;
        }

        return Contains(allowed, value.GetString()!) || Fail($"Invalid value: '{value.GetString()}'. Supported values are: {List(allowed)}.", param, "invalid_value");
    }

    public bool Integer(JsonElement value, string param, long? minimum = null, long? maximum = null)
    {
        if (Failed)
        {
            return false;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var whole))
        {
            return WrongType(value, param, "an integer");
        }

        if (whole < minimum)
        {
            return Fail($"Invalid '{param}': integer below minimum value. Expected a value >= {minimum}, but got {whole} instead.", param, "integer_below_min_value");
        }

        return !(whole > maximum)
            || Fail($"Invalid '{param}': integer above maximum value. Expected a value <= {maximum}, but got {whole} instead.", param, "integer_above_max_value");
    }

    public bool Number(JsonElement value, string param, double? minimum = null, double? maximum = null)
    {
        if (Failed)
        {
            return false;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            return WrongType(value, param, "a number");
        }

        var number = value.GetDouble();
        if (number < minimum)
        {
            return Fail(Bound(param, "below minimum", ">=", minimum.Value, value), param, "decimal_below_min_value");
        }

        return !(number > maximum) || Fail(Bound(param, "above maximum", "<=", maximum.Value, value), param, "decimal_above_max_value");
    }

    /// <summary>An array; <paramref name="item"/> checks each element with its <c>[i]</c> param.</summary>
    public bool Array(JsonElement value, string param, Func<JsonElement, string, bool>? item = null)
    {
        if (Failed)
        {
            return false;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            return WrongType(value, param, "an array");
        }

        var index = 0;
        foreach (var element in value.EnumerateArray())
        {
            if (item is not null && !item(element, Item(param, index)))
            {
                return false;
            }

            index++;
        }

        return true;
    }

    /// <summary>Runs <paramref name="check"/> on <paramref name="parent"/>'s property <paramref name="name"/> when it is present.</summary>
    public bool Optional(JsonElement parent, string name, string param, Func<JsonElement, string, bool> check) =>
        !Failed && (!parent.TryGetProperty(name, out var value) || check(value, Child(param, name)));

    /// <summary>Like <see cref="Optional"/>, with <c>null</c> also accepted.</summary>
    public bool Nullable(JsonElement parent, string name, string param, Func<JsonElement, string, bool> check) =>
        !Failed && (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null || check(value, Child(param, name)));

    public static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => value.TryGetInt64(out _) ? "an integer" : "a decimal",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };

    /// <summary>OpenAI's list of choices: <c>'a'</c>, <c>'a' and 'b'</c>, <c>'a', 'b', and 'c'</c>.</summary>
    public static string List(ReadOnlySpan<string> values)
    {
        var quoted = new string[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            quoted[i] = "'" + values[i] + "'";
        }

        return quoted.Length switch
        {
            1 => quoted[0],
            2 => quoted[0] + " and " + quoted[1],
            _ => string.Join(", ", quoted[..^1]) + ", and " + quoted[^1],
        };
    }

    private static string Bound(string param, string side, string op, double limit, JsonElement got) =>
        string.Create(CultureInfo.InvariantCulture, $"Invalid '{param}': decimal {side} value. Expected a value {op} {limit}, but got {got.GetRawText()} instead.");

    private static bool Contains(ReadOnlySpan<string> values, string value)
    {
        foreach (var candidate in values)
        {
            if (string.Equals(candidate, value, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
