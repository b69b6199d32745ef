package io.netty.handler.ssl;

import java.io.File;
import javax.net.ssl.SSLException;

/**
 * A TLS client context with ALPN "h2" on the JDK's own TLS, for Debian's Netty 4.1.48.
 *
 * <p>grpc-java needs ALPN to agree on "h2". Java 9+ does ALPN, and Netty's {@code Java9SslEngine}
 * drives it, but Debian's Netty ships without {@code JdkAlpnApplicationProtocolNegotiator}, so
 * {@code GrpcSslContexts.forClient().build()} fails with "JDK provider does not support ALPN
 * protocol". This class lives in Netty's package only to reach the package-private pieces that
 * are still there and put them back together: the PEM files are read by Netty's usual builder
 * (with no ALPN), and its {@code SSLContext} is wrapped with a negotiator offering "h2".
 */
public final class DebianJdkAlpn {
  private DebianJdkAlpn() {}

  /** Trusts the CAs in {@code ca}; presents {@code cert}/{@code key} (PKCS#8) unless null. */
  public static SslContext clientContext(File ca, File cert, File key) throws SSLException {
    SslContextBuilder builder =
        SslContextBuilder.forClient().sslProvider(SslProvider.JDK).trustManager(ca);
    if (cert != null && key != null) {
      builder.keyManager(cert, key);
    }
    JdkSslContext plain = (JdkSslContext) builder.build();
    JdkApplicationProtocolNegotiator h2 =
        new JdkBaseApplicationProtocolNegotiator(
            (engine, negotiator, isServer) -> new Java9SslEngine(engine, negotiator, isServer),
            JdkBaseApplicationProtocolNegotiator.FAIL_SELECTOR_FACTORY,
            JdkBaseApplicationProtocolNegotiator.FAIL_SELECTION_LISTENER_FACTORY,
            "h2");
    return new JdkSslContext(
        plain.context(), true, null, IdentityCipherSuiteFilter.INSTANCE, h2, ClientAuth.NONE,
        null, false);
  }
}
