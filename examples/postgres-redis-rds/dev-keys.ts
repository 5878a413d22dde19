/**
 * DEVELOPMENT KEYS, PUBLISHED ON PURPOSE. Never use them for a real gateway.
 *
 * The example and the end-to-end suite need fixed keys so that synth is
 * byte-identical and the suite can bring up both ends of the tunnel. A real
 * gateway keeps its private key in a Secret made out of band
 * (WireguardKey.fromSecret), and a real peer's private key never leaves it.
 */

/** The example gateway's private key (wg genkey). */
export const DEV_SERVER_PRIVATE_KEY = 'sOOEVn4TBpy08BesrjOtrNjKMlL5q/VQ7TC1VJZwblY=';

/** The private keys of the example's peers. Only the e2e suite reads these. */
export const DEV_PEER_PRIVATE_KEYS: Record<string, string> = {
  laptop: 'kNnsDdt2EHH/z7xOs4Vs2+xfkeO9q54vrGLkH0nyE34=',
  'ci-runner': 'sNhjI0e5FDqKYllujy9LI+lXvH2RmSrs4eCUwOFkeWk=',
  // Added by EXAMPLE_CHANGE=add-peer.
  'tablet': 'cFOJO+lofXmAFCbMZ2vcYeTGZx1JstOnBnKjt3OlYnI=',
};
