// Where the service publishes what the scanner needs (web/keys_public.py, web/bundle_public.py).
export const JWKS_PATH = "/.well-known/jwks.json";
export const BUNDLE_PATH = "/status/bundle.bin";
