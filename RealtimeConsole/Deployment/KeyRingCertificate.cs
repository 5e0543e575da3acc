using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RealtimeConsole.Deployment;

/// <summary>
/// <c>Deployment:DataProtection:Certificate</c> (a .pfx) and <c>CertificatePassword</c>: the certificate whose RSA key encrypts
/// every Data Protection key at rest, so the key ring kept in Redis (or on disk, alone) holds no plain master key. Every
/// instance of one deployment needs the same certificate. Read at start-up: a certificate that cannot work stops the start.
/// </summary>
public static class KeyRingCertificate
{
    public const string CertificateSetting = "Deployment:DataProtection:Certificate";

    public const string PasswordSetting = "Deployment:DataProtection:CertificatePassword";

    /// <summary>The configured certificate with its private key, null when none is configured, or a sentence saying what is wrong.</summary>
    public static X509Certificate2? Load(IConfiguration configuration)
    {
        var path = configuration[CertificateSetting];
        var password = configuration[PasswordSetting];
        if (string.IsNullOrWhiteSpace(path))
        {
            return string.IsNullOrEmpty(password)
                ? null
                : throw new DeploymentConfigurationException($"{PasswordSetting} is set but {CertificateSetting} is not; give the path of the .pfx file it opens.");
        }

        if (!File.Exists(path))
        {
            throw new DeploymentConfigurationException($"{CertificateSetting} is '{path}', which is not a file; give the path of a .pfx (PKCS#12) file holding the certificate and its private key.");
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password);
        }
        catch (CryptographicException)
        {
            throw new DeploymentConfigurationException($"{CertificateSetting} '{path}' cannot be opened with {PasswordSetting}: the password is wrong or the file is not a .pfx (PKCS#12) file.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DeploymentConfigurationException($"{CertificateSetting} '{path}' cannot be read by this instance ({e.Message}).");
        }

        var unusable = !certificate.HasPrivateKey ? "holds no private key" : certificate.GetRSAPublicKey() is null ? "has no RSA key" : null;
        if (unusable is not null)
        {
            certificate.Dispose();
            throw new DeploymentConfigurationException($"{CertificateSetting} '{path}' {unusable}; the key ring is encrypted with an RSA certificate and read back with its private key.");
        }

        return certificate;
    }
}
