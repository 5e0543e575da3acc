using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using ZiggyCreatures.Caching.Fusion.Serialization;
using ZiggyCreatures.Caching.Fusion.Serialization.SystemTextJson;

namespace RealtimeConsole.Tokens;

/// <summary>
/// What the secret cache writes to Redis: JSON sealed with ASP.NET Core Data Protection, whose key ring the deployment
/// shares, so any instance reads what another wrote and Redis never holds a secret in plain text.
/// </summary>
public sealed class ProtectedSecretSerializer(IDataProtectionProvider protection) : IFusionCacheSerializer
{
    /// <summary>The Data Protection purpose of every secret the cache stores (one purpose: entries and the pool are the same kind of thing).</summary>
    public const string Purpose = "RealtimeConsole.Tokens.ClientSecret";

    private readonly IDataProtector _protector = protection.CreateProtector(Purpose);
    private readonly FusionCacheSystemTextJsonSerializer _json = new();

    public byte[] Serialize<T>(T? obj) => _protector.Protect(_json.Serialize(obj));

    public T? Deserialize<T>(byte[] data) => _json.Deserialize<T>(_protector.Unprotect(data));

    public ValueTask<byte[]> SerializeAsync<T>(T? obj, CancellationToken token = default) => ValueTask.FromResult(Serialize(obj));

    public ValueTask<T?> DeserializeAsync<T>(byte[] data, CancellationToken token = default) => ValueTask.FromResult(Deserialize<T>(data));

    /// <summary>One pooled secret as stored in the shared pool.</summary>
    public byte[] Seal(ClientSecret secret) => _protector.Protect(JsonSerializer.SerializeToUtf8Bytes(secret));

    /// <summary>A pooled secret back, or null when it cannot be read (another deployment's key ring, a damaged value).</summary>
    public ClientSecret? Open(byte[] sealedSecret)
    {
        try
        {
            return JsonSerializer.Deserialize<ClientSecret>(_protector.Unprotect(sealedSecret));
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or JsonException)
        {
            return null;
        }
    }
}
