using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using RealtimeConsole.Deployment;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Upstream;
using StackExchange.Redis;

namespace RealtimeConsole.Tests.Deployment;

/// <summary>
/// The deployment's Data Protection key ring in a real redis-server: encrypted at rest with a certificate (a throwaway
/// self-signed one made here), refused in words when the certificate cannot work, and written back by the running
/// instances when Redis restarts empty, so an instance started afterwards joins their ring instead of making its own.
/// </summary>
public sealed class SharedDataProtectionTests : IAsyncLifetime
{
    private const string Password = "correct horse";

    private readonly string _directory = Directory.CreateTempSubdirectory("rc-keyring-").FullName;
    private readonly List<ConsoleAppFactory> _instances = [];
    private readonly MintingUpstream _upstream = new();
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartNewAsync();

    public async Task DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        await _redis.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task With_a_certificate_the_ring_in_Redis_holds_no_plain_master_key_and_instances_sharing_it_read_each_others_secrets()
    {
        var certificate = WriteCertificate("keyring.pfx", Password);
        var a = Instance("sealed", "a", certificate);
        var fromA = Protector(a).Protect("protected by a");
        var secretFromA = await SecretAsync(a);

        var ring = await RingAsync("sealed");
        var key = Assert.Single(ring);
        Assert.DoesNotContain("<masterKey", key, StringComparison.Ordinal);
        Assert.Contains("<encryptedSecret", key, StringComparison.Ordinal);
        Assert.Contains("EncryptedData", key, StringComparison.Ordinal);

        // b opens the ring with the same certificate: it reads what a protected, a reads what b protects, and the Shared secret a
        // minted (sealed in Redis with that ring) is served by b without a second mint.
        var b = Instance("sealed", "b", certificate);
        Assert.Equal("protected by a", Protector(b).Unprotect(fromA));
        Assert.Equal("protected by b", Protector(a).Unprotect(Protector(b).Protect("protected by b")));
        Assert.Equal(secretFromA, await SecretAsync(b));
        Assert.Equal(1, _upstream.Mints);
        Assert.Single(await RingAsync("sealed"));

        // Without the certificate the ring is of no use, and without one the same ring would hold the master key in clear.
        var withoutCertificate = Instance("sealed", "c", certificatePath: null);
        Assert.ThrowsAny<CryptographicException>(() => Protector(withoutCertificate).Unprotect(fromA));
        Protector(Instance("plain", "d", certificatePath: null)).Protect("anything");
        Assert.Contains("<masterKey", Assert.Single(await RingAsync("plain")), StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_that_cannot_work_is_refused_in_one_sentence_that_never_shows_the_password()
    {
        var good = WriteCertificate("good.pfx", Password);
        var notPfx = Path.Combine(_directory, "not.pfx");
        File.WriteAllText(notPfx, "-----BEGIN NOTHING-----");
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ecdsaCertificate = new CertificateRequest("CN=not rsa", ecdsa, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var notRsa = Path.Combine(_directory, "ecdsa.pfx");
        File.WriteAllBytes(notRsa, ecdsaCertificate.Export(X509ContentType.Pfx, Password));
        using var rsa = RSA.Create(2048);
        using var rsaCertificate = new CertificateRequest("CN=public only", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var publicOnly = Path.Combine(_directory, "public.pfx");
        using var publicPart = X509CertificateLoader.LoadCertificate(rsaCertificate.Export(X509ContentType.Cert));
        File.WriteAllBytes(publicOnly, publicPart.Export(X509ContentType.Pfx, Password));

        var cases = new (string? Path, string? Password, string Expected)[]
        {
            (Path.Combine(_directory, "missing.pfx"), Password, "which is not a file"),
            (good, "wrong password", "the password is wrong or the file is not a .pfx"),
            (notPfx, Password, "the password is wrong or the file is not a .pfx"),
            (notRsa, Password, "has no RSA key"),
            (publicOnly, Password, "holds no private key"),
            (null, Password, "CertificatePassword is set but Deployment:DataProtection:Certificate is not"),
        };
        foreach (var (path, password, expected) in cases)
        {
            var error = Assert.Throws<DeploymentConfigurationException>(() => KeyRingCertificate.Load(Settings(path, password)));
            Assert.Contains(expected, error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(Password, error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("wrong password", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', error.Message);
        }

        using var loaded = KeyRingCertificate.Load(Settings(good, Password));
        Assert.True(loaded!.Current.HasPrivateKey);
        Assert.Empty(loaded.Previous);
        Assert.Null(KeyRingCertificate.Load(Settings(null, null)));

        // A certificate rotated out is checked the same way, and named by its place in the list.
        var previousCases = new (string? Path, string? Password, string Expected)[]
        {
            (Path.Combine(_directory, "old.pfx"), Password, "Deployment:DataProtection:PreviousCertificates:0:Path is '"),
            (good, "wrong password", "Deployment:DataProtection:PreviousCertificates:0:Path '" + good + "' cannot be opened with Deployment:DataProtection:PreviousCertificates:0:Password"),
            (publicOnly, Password, "holds no private key"),
            (null, Password, "Deployment:DataProtection:PreviousCertificates:0:Password is set but Deployment:DataProtection:PreviousCertificates:0:Path is not"),
        };
        foreach (var (path, password, expected) in previousCases)
        {
            var error = Assert.Throws<DeploymentConfigurationException>(() => KeyRingCertificate.Load(Settings(good, Password, (path, password))));
            Assert.Contains(expected, error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("wrong password", error.Message, StringComparison.Ordinal);
        }

        var withoutCurrent = Assert.Throws<DeploymentConfigurationException>(() => KeyRingCertificate.Load(Settings(null, null, (good, Password))));
        Assert.Contains("PreviousCertificates is set but Deployment:DataProtection:Certificate is not", withoutCurrent.Message, StringComparison.Ordinal);
        using var rotated = KeyRingCertificate.Load(Settings(good, Password, (good, Password)));
        Assert.Single(rotated!.Previous);
    }

    [Fact]
    public void Rotating_the_certificate_keeps_the_keys_it_encrypted_readable_and_encrypts_new_keys_with_the_new_one_only()
    {
        var oldCertificate = WriteCertificate("old.pfx", Password);
        var newCertificate = WriteCertificate("new.pfx", Password);
        var before = Instance("rotate", "a", oldCertificate);
        var fromBefore = Protector(before).Protect("protected before the rotation");

        // After the rotation: the new certificate encrypts, the old one still reads the key it encrypted.
        var after = Instance("rotate", "b", newCertificate, (oldCertificate, Password));
        Assert.Equal("protected before the rotation", Protector(after).Unprotect(fromBefore));
        var now = DateTimeOffset.UtcNow;
        var created = after.Services.GetRequiredService<IKeyManager>().CreateNewKey(now, now.AddDays(90));

        // The key made after the rotation is encrypted with the new certificate only: an instance holding nothing but the new
        // certificate opens it, and not the key the old one encrypted (so the old certificate stays listed until that key is no longer needed).
        var ring = Instance("rotate", "c", newCertificate).Services.GetRequiredService<IKeyManager>().GetAllKeys();
        Assert.Equal(2, ring.Count);
        Assert.NotNull(ring.Single(key => key.KeyId == created.KeyId).Descriptor);
        Assert.ThrowsAny<CryptographicException>(() => ring.Single(key => key.KeyId != created.KeyId).Descriptor);
    }

    [Fact]
    public async Task Starting_with_a_certificate_path_that_is_not_a_file_prints_one_sentence_and_exits_2()
    {
        var missing = Path.Combine(_directory, "nowhere", "keyring.pfx");
        var exit = await ConsoleProcess.RunUntilExitAsync(
            ("ConnectionStrings__Redis", _redis.ConnectionString),
            ("Deployment__DataProtection__Certificate", missing),
            ("Deployment__DataProtection__CertificatePassword", Password));

        Assert.Equal(2, exit.Code);
        Assert.Contains($"RealtimeConsole cannot start: Deployment:DataProtection:Certificate is '{missing}', which is not a file; give the path of a .pfx (PKCS#12) file holding the certificate and its private key.", exit.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", exit.Everything, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, exit.Everything, StringComparison.Ordinal);
    }

    [Fact]
    public async Task After_Redis_restarts_empty_the_running_instances_write_their_keys_back_once_and_a_new_instance_joins_that_ring()
    {
        var a = Instance("restart", "a", WriteCertificate("keyring.pfx", Password));
        var fromA = Protector(a).Protect("protected by a");
        var b = Instance("restart", "b", Path.Combine(_directory, "keyring.pfx"));
        var fromB = Protector(b).Protect("protected by b");
        var before = KeyIds(await RingAsync("restart"));
        Assert.Single(before);

        await using var waiter = new ConditionWaiter();
        var writtenBack = WrittenBackAfterRestart(waiter, a, b);
        await _redis.StopAsync();
        writtenBack.Arm();
        await _redis.StartAsync();

        // One of the two writes the key back, the other finds it there: never twice (Data Protection refuses a ring holding one
        // id twice). Each then checks once more itself, and still nothing is added.
        await waiter.UntilAsync(() => writtenBack.Added >= 1, "a running instance to write the key ring back");
        foreach (var instance in new[] { a, b })
        {
            instance.Services.GetRequiredService<SharedKeyRingRepository>().GetAllElements();
        }

        Assert.Equal(1, writtenBack.Added);
        Assert.Equal(before, KeyIds(await RingAsync("restart")));

        var joining = Instance("restart", "c", Path.Combine(_directory, "keyring.pfx"));
        Assert.Equal("protected by a", Protector(joining).Unprotect(fromA));
        Assert.Equal("protected by b", Protector(joining).Unprotect(fromB));
        Assert.Equal("protected by c", Protector(a).Unprotect(Protector(joining).Protect("protected by c")));
        Assert.Equal(before, KeyIds(await RingAsync("restart")));
    }

    [Fact]
    public async Task A_key_revoked_before_Redis_restarts_empty_stays_revoked_for_an_instance_that_joins_after()
    {
        var a = Instance("revoke", "a", certificatePath: null);
        var fromA = Protector(a).Protect("protected with a key that leaked");
        var keys = a.Services.GetRequiredService<IKeyManager>();
        var leaked = Assert.Single(keys.GetAllKeys());
        keys.RevokeKey(leaked.KeyId, "leaked");

        await using var waiter = new ConditionWaiter();
        var writtenBack = WrittenBackAfterRestart(waiter, a);
        await _redis.StopAsync();
        writtenBack.Arm();
        await _redis.StartAsync();

        // Both come back: the key (payloads it protected stay recognisable) and its revocation (they stay refused).
        await waiter.UntilAsync(() => writtenBack.Added >= 2, "the key and its revocation to be written back");
        Assert.Equal(2, writtenBack.Added);
        Assert.Contains(await RingAsync("revoke"), entry => entry.StartsWith("<revocation", StringComparison.Ordinal) && entry.Contains(leaked.KeyId.ToString(), StringComparison.Ordinal));
        var joining = Instance("revoke", "b", certificatePath: null);
        Assert.True(joining.Services.GetRequiredService<IKeyManager>().GetAllKeys().Single(key => key.KeyId == leaked.KeyId).IsRevoked);
        Assert.ThrowsAny<CryptographicException>(() => Protector(joining).Unprotect(fromA));
    }

    /// <summary>
    /// Counts what <paramref name="instances"/> write back to the ring once armed (after Redis is stopped). A sum, not each
    /// instance's first answer: a check that ran just before the stop may report its "nothing to add" after it.
    /// </summary>
    private static WrittenBackCount WrittenBackAfterRestart(ConditionWaiter waiter, params ConsoleAppFactory[] instances)
    {
        var count = new WrittenBackCount(waiter);
        foreach (var instance in instances)
        {
            instance.Services.GetRequiredService<SharedKeyRingRepository>().Restored += count.Add;
        }

        return count;
    }

    private sealed class WrittenBackCount(ConditionWaiter waiter)
    {
        private int _added;
        private volatile bool _armed;

        public int Added => Volatile.Read(ref _added);

        public void Arm() => _armed = true;

        public void Add(int added)
        {
            if (_armed)
            {
                Interlocked.Add(ref _added, added);
                waiter.Pulse();
            }
        }
    }

    private ConsoleAppFactory Instance(string deployment, string id, string? certificatePath, (string Path, string Password)? previous = null)
    {
        var instance = new ConsoleAppFactory()
            .WithSetting(KeyRingCertificate.PreviousSection + ":0:Path", previous?.Path)
            .WithSetting(KeyRingCertificate.PreviousSection + ":0:Password", previous?.Password)
            .WithSetting("ConnectionStrings:Redis", _redis.ConnectionString)
            .WithSetting("Deployment:Name", deployment)
            .WithSetting("Deployment:InstanceId", id)
            .WithSetting(KeyRingCertificate.CertificateSetting, certificatePath)
            .WithSetting(KeyRingCertificate.PasswordSetting, certificatePath is null ? null : Password)
            .WithSetting("Realtime:BaseUrl", "http://upstream.test/v1")
            .WithSetting("Realtime:SecretMode", "Shared")
            .WithServices(s => s.AddHttpClient(UpstreamGate.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => _upstream.HandlerFor(id)));
        _instances.Add(instance);
        return instance;
    }

    private static IDataProtector Protector(ConsoleAppFactory instance) => instance.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("deploy-gaps");

    private static async Task<string> SecretAsync(ConsoleAppFactory instance)
    {
        using var response = await instance.CreateClient().PostAsync("/api/realtime/client-secret", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("value").GetString()!;
    }

    /// <summary>The key ring as Redis holds it, one XML element per entry.</summary>
    private async Task<string[]> RingAsync(string deployment)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
        var entries = await connection.GetDatabase().ListRangeAsync($"rc:{{{deployment}}}:{SharedDataProtection.KeyRingKey}");
        return [.. entries.Select(e => e.ToString())];
    }

    private static string[] KeyIds(IEnumerable<string> ring) => [.. ring.Select(XElement.Parse).Where(e => e.Name == "key").Select(e => (string)e.Attribute("id")!)];

    /// <summary>A throwaway self-signed RSA certificate with its private key, as a .pfx in this test's directory.</summary>
    private string WriteCertificate(string name, string password)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=RealtimeConsole key ring (test)", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx, password));
        return path;
    }

    private static IConfiguration Settings(string? path, string? password, (string? Path, string? Password)? previous = null) => new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        [KeyRingCertificate.CertificateSetting] = path,
        [KeyRingCertificate.PasswordSetting] = password,
        [KeyRingCertificate.PreviousSection + ":0:Path"] = previous?.Path,
        [KeyRingCertificate.PreviousSection + ":0:Password"] = previous?.Password,
    }).Build();
}
