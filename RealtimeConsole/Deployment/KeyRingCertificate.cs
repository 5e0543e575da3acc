using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.DataProtection;

namespace RealtimeConsole.Deployment;

/// <summary>
/// <c>Deployment:DataProtection:Certificate</c> (a .pfx) and <c>CertificatePassword</c>: the certificate whose RSA key encrypts
/// every Data Protection key at rest, so the key ring kept in Redis (or on disk, alone) holds no plain master key. Every
/// instance of one deployment needs the same certificate. <c>PreviousCertificates:N:Path</c> / <c>:Password</c> are certificates
/// rotated out: keys they encrypted are still read, new keys are encrypted with the current one only. Read at start-up: a
/// certificate that cannot work stops the start.
/// </summary>
public static class KeyRingCertificate
{
    public const string CertificateSetting = "Deployment:DataProtection:Certificate";

    public const string PasswordSetting = "Deployment:DataProtection:CertificatePassword";

    public const string PreviousSection = "Deployment:DataProtection:PreviousCertificates";

    /// <summary>The configured certificates, null when none is configured, or a sentence saying what is wrong.</summary>
    public static KeyRingCertificates? Load(IConfiguration configuration)
    {
        var previous = configuration.GetSection(PreviousSection).GetChildren()
            .Select(entry => Open($"{entry.Path}:Path", $"{entry.Path}:Password", entry["Path"], entry["Password"]))
            .OfType<X509Certificate2>()
            .ToArray();
        var current = Open(CertificateSetting, PasswordSetting, configuration[CertificateSetting], configuration[PasswordSetting]);
        if (current is null && previous.Length > 0)
        {
            throw new DeploymentConfigurationException($"{PreviousSection} is set but {CertificateSetting} is not; keys are read with a previous certificate only beside the current one that encrypts new keys.");
        }

        return current is null ? null : new KeyRingCertificates(current, previous);
    }

    /// <summary>Encrypts new keys with the current certificate and reads keys encrypted with it or any previous one, without a certificate store.</summary>
    public static IDataProtectionBuilder ProtectKeysWith(this IDataProtectionBuilder protection, KeyRingCertificates? certificates)
    {
        if (certificates is null)
        {
            return protection;
        }

        protection.ProtectKeysWithCertificate(certificates.Current);
        return certificates.Previous.Count == 0 ? protection : protection.UnprotectKeysWithAnyCertificate([.. certificates.Previous]);
    }

    private static X509Certificate2? Open(string pathSetting, string passwordSetting, string? path, string? password)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            return string.IsNullOrEmpty(password)
                ? null
                : throw new DeploymentConfigurationException($"{passwordSetting} is set but {pathSetting} is not; give the path of the .pfx file it opens.");
        }

        if (!File.Exists(path))
        {
            throw new DeploymentConfigurationException($"{pathSetting} is '{path}', which is not a file; give the path of a .pfx (PKCS#12) file holding the certificate and its private key.");
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password);
        }
        catch (CryptographicException)
        {
            throw new DeploymentConfigurationException($"{pathSetting} '{path}' cannot be opened with {passwordSetting}: the password is wrong or the file is not a .pfx (PKCS#12) file.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DeploymentConfigurationException($"{pathSetting} '{path}' cannot be read by this instance ({e.Message}).");
        }

        var unusable = !certificate.HasPrivateKey ? "holds no private key" : certificate.GetRSAPublicKey() is null ? "has no RSA key" : null;
        if (unusable is not null)
        {
            certificate.Dispose();
            throw new DeploymentConfigurationException($"{pathSetting} '{path}' {unusable}; the key ring is encrypted with an RSA certificate and read back with its private key.");
        }

        return certificate;
    }
}

/// <summary>The certificate that encrypts new Data Protection keys, and those rotated out whose keys are still read.</summary>
public sealed record KeyRingCertificates(X509Certificate2 Current, IReadOnlyList<X509Certificate2> Previous) : IDisposable
{
    public void Dispose()
    {
        Current.Dispose();
        foreach (var certificate in Previous)
        {
            certificate.Dispose();
        }
    }
}
