using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;

namespace RealtimeConsole.Simulator.Media.Dtls;

/// <summary>A self-signed ECDSA P-256 certificate for DTLS; WebRTC peers pin it by the SDP fingerprint, not by a CA.</summary>
internal sealed class DtlsCertificate
{
    private DtlsCertificate(byte[] der, AsymmetricKeyParameter privateKey)
    {
        Der = der;
        PrivateKey = privateKey;
        Fingerprint = FingerprintOf(der);
    }

    public byte[] Der { get; }

    public AsymmetricKeyParameter PrivateKey { get; }

    /// <summary>SHA-256 of the DER as colon-separated upper-case hex, as <c>a=fingerprint:sha-256</c> carries it.</summary>
    public string Fingerprint { get; }

    public static string FingerprintOf(byte[] der) =>
        string.Join(':', System.Security.Cryptography.SHA256.HashData(der).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));

    public static DtlsCertificate Create(TimeProvider time)
    {
        var random = new SecureRandom();
        var generator = new ECKeyPairGenerator();
        generator.Init(new ECKeyGenerationParameters(SecObjectIdentifiers.SecP256r1, random));
        var keys = generator.GenerateKeyPair();
        var name = new X509Name("CN=realtime-console-simulator");
        var now = time.GetUtcNow().UtcDateTime;
        var certificate = new X509V3CertificateGenerator();
        certificate.SetSerialNumber(BigInteger.ProbablePrime(64, random));
        certificate.SetIssuerDN(name);
        certificate.SetSubjectDN(name);
        certificate.SetNotBefore(now.AddDays(-1));
        certificate.SetNotAfter(now.AddDays(30));
        certificate.SetPublicKey(keys.Public);
        var signed = certificate.Generate(new Asn1SignatureFactory("SHA256WITHECDSA", keys.Private, random));
        return new DtlsCertificate(signed.GetEncoded(), keys.Private);
    }
}
