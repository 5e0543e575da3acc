using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace RealtimeConsole.Simulator.Media.Dtls;

/// <summary>The DTLS 1.2 client role (what a browser plays), for the benchmark's and tests' C# client peer.</summary>
internal sealed class SimulatorDtlsClient(DtlsCertificate certificate, string expectedServerFingerprint)
    : DefaultTlsClient(new BcTlsCrypto(new SecureRandom()))
{
    private readonly DtlsCertificate _certificate = certificate;
    private readonly string _expectedServerFingerprint = expectedServerFingerprint;

    public byte[]? SrtpKeying { get; private set; }

    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

    protected override int[] GetSupportedCipherSuites() => [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256];

    public override IDictionary<int, byte[]> GetClientExtensions()
    {
        var extensions = base.GetClientExtensions() ?? new Dictionary<int, byte[]>();
        TlsSrtpUtilities.AddUseSrtpExtension(extensions, new UseSrtpData([SrtpProtectionProfile.SRTP_AES128_CM_HMAC_SHA1_80], TlsUtilities.EmptyBytes));
        return extensions;
    }

    public override TlsAuthentication GetAuthentication() => new Authentication(this);

    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        SrtpKeying = m_context.ExportKeyingMaterial(ExporterLabel.dtls_srtp, null, 60);
    }

    private sealed class Authentication(SimulatorDtlsClient client) : TlsAuthentication
    {
        public void NotifyServerCertificate(TlsServerCertificate serverCertificate)
        {
            var presented = DtlsCertificate.FingerprintOf(serverCertificate.Certificate.GetCertificateAt(0).GetEncoded());
            if (!string.Equals(presented, client._expectedServerFingerprint, StringComparison.OrdinalIgnoreCase))
            {
                throw new TlsFatalAlert(AlertDescription.bad_certificate);
            }
        }

        public TlsCredentials GetClientCredentials(CertificateRequest certificateRequest) =>
            new BcDefaultTlsCredentialedSigner(
                new TlsCryptoParameters(client.m_context),
                (BcTlsCrypto)client.Crypto,
                client._certificate.PrivateKey,
                new Certificate([client.Crypto.CreateCertificate(client._certificate.Der)]),
                new SignatureAndHashAlgorithm(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa));
    }
}
