using System.Text.Json.Serialization;

namespace RealtimeConsole.Tokens;

/// <summary>How browser sessions get their client secret.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SecretMode>))]
public enum SecretMode
{
    /// <summary>A fresh secret for each browser session.</summary>
    PerSession,

    /// <summary>One secret per session configuration, reused by every session until its refresh point.</summary>
    Shared,

    /// <summary>N secrets per configuration kept minted ahead, each handed out once.</summary>
    Pool,
}
