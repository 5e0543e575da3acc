using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using Org.BouncyCastle.Security;

namespace RealtimeConsole.Simulator.Media.Dtls;

/// <summary>
/// The DTLS 1.2 server side of a call: ECDHE-ECDSA with AES-GCM, a client certificate requested (and checked
/// against the offer's fingerprint), use_srtp negotiated, SRTP keys exported while the handshake completes.
/// </summary>
internal sealed class SimulatorDtlsServer(DtlsCertificate certificate, string? expectedClientFingerprint)
    : DefaultTlsServer(new BcTlsCrypto(new SecureRandom()))
{
    private bool _clientOfferedSrtp;

    /// <summary>60 bytes: client key, server key, client salt, server salt (RFC 5764 §4.2).</summary>
    public byte[]? SrtpKeying { get; private set; }

    public override int GetHandshakeTimeoutMillis() => 0;

    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

    protected override int[] GetSupportedCipherSuites() =>
        [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384];

    protected override TlsCredentialedSigner GetECDsaSignerCredentials() =>
        new BcDefaultTlsCredentialedSigner(
            new TlsCryptoParameters(m_context),
            (BcTlsCrypto)Crypto,
            certificate.PrivateKey,
            new Certificate([Crypto.CreateCertificate(certificate.Der)]),
            new SignatureAndHashAlgorithm(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa));

    public override CertificateRequest GetCertificateRequest() =>
        new([ClientCertificateType.ecdsa_sign, ClientCertificateType.rsa_sign], TlsUtilities.GetDefaultSupportedSignatureAlgorithms(m_context), null);

    public override void NotifyClientCertificate(Certificate clientCertificate)
    {
        if (clientCertificate.IsEmpty)
        {
            throw new TlsFatalAlert(AlertDescription.certificate_required);
        }

        var presented = DtlsCertificate.FingerprintOf(clientCertificate.GetCertificateAt(0).GetEncoded());
        if (expectedClientFingerprint is not null && !string.Equals(presented, expectedClientFingerprint, StringComparison.OrdinalIgnoreCase))
        {
            throw new TlsFatalAlert(AlertDescription.bad_certificate);
        }
    }

    public override void ProcessClientExtensions(IDictionary<int, byte[]> clientExtensions)
    {
        base.ProcessClientExtensions(clientExtensions);
        _clientOfferedSrtp = TlsSrtpUtilities.GetUseSrtpExtension(clientExtensions) is { } offered
            && offered.ProtectionProfiles.Contains(SrtpProtectionProfile.SRTP_AES128_CM_HMAC_SHA1_80);
    }

    public override IDictionary<int, byte[]> GetServerExtensions()
    {
        var extensions = base.GetServerExtensions() ?? new Dictionary<int, byte[]>();
        if (_clientOfferedSrtp)
        {
            TlsSrtpUtilities.AddUseSrtpExtension(extensions, new UseSrtpData([SrtpProtectionProfile.SRTP_AES128_CM_HMAC_SHA1_80], TlsUtilities.EmptyBytes));
        }

        return extensions;
    }

    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        if (_clientOfferedSrtp)
        {
            SrtpKeying = m_context.ExportKeyingMaterial(ExporterLabel.dtls_srtp, null, 60);
        }
    }
}
