#pragma once
// AWS Signature Version 4: the canonical request, the string to sign and the signature, for the
// Authorization header and for presigned query strings, plus S3's payload rules (the
// x-amz-content-sha256 header, UNSIGNED-PAYLOAD, and STREAMING-AWS4-HMAC-SHA256-PAYLOAD chunk
// signatures). Pure functions of their inputs, the clock included: verified against AWS's
// published test vectors (tests/data/sigv4).

#include <utility>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace exoflow::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token; ///< empty for long-term keys
};

/// A request as it will go on the wire.
struct SigningRequest {
  std::string method;
  /// The path as sent, percent-encoded where the wire needs it (e.g. "/bucket/my%20key").
  std::string path = "/";
  /// The query string as sent, without '?'; parameters in any order.
  std::string query;
  /// Headers to sign, as sent; must include `host`. Names in any case; repeated names are joined.
  std::vector<std::pair<std::string, std::string>> headers;
  /// Lower-case hex SHA-256 of the body, "UNSIGNED-PAYLOAD" or
  /// "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" (see kUnsignedPayload, kStreamingPayload).
  std::string payload_hash;
};

struct SigningParams {
  std::string region;
  std::string service;
  std::chrono::system_clock::time_point time;
  /// Every service but S3 removes `.`/`..` segments and repeated slashes from the path and
  /// encodes it once more; S3 signs the path exactly as sent (both false).
  bool normalize_path = true;
  bool encode_path = true;
  /// S3 requires an x-amz-content-sha256 header with the payload hash on every request.
  bool content_sha256_header = false;
  /// Sign the session token (the norm); false adds it after signing (some older services).
  bool sign_session_token = true;
};

inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kStreamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

/// The result of signing: headers to add to the request and the intermediate texts (for tests
/// and for debugging a SignatureDoesNotMatch).
struct Signed {
  std::vector<std::pair<std::string, std::string>> headers; ///< x-amz-date, token, authorization
  std::string query; ///< for presigned requests: the full query string to send
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature; ///< lower-case hex
};

/// Signs with the Authorization header. The returned headers (`X-Amz-Date`, optionally
/// `X-Amz-Security-Token` and `x-amz-content-sha256`, then `Authorization`) go on the request.
Signed signHeaders(const SigningRequest& request, const Credentials& credentials,
                   const SigningParams& params);

/// Presigns: `Signed::query` is the request's query plus the X-Amz-* parameters, valid for
/// `expires` (1 s to 7 days). Only `host` (and any header given) is signed.
Signed presign(const SigningRequest& request, const Credentials& credentials,
               const SigningParams& params, std::chrono::seconds expires);

/// Signs the chunks of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body, each chained to the one before
/// and the first to the request's seed signature. The body on the wire is the sequence of
/// frame(chunk) for every chunk, then frame("") for the final empty chunk.
class ChunkSigner {
public:
  ChunkSigner(const Signed& seed, const Credentials& credentials, const SigningParams& params);
  /// `<hex size>;chunk-signature=<sig>\r\n<data>\r\n`
  std::string frame(std::string_view data);
  /// The length of the whole framed body for a payload of `size` bytes sent in chunks of
  /// `chunk_size` (the value of Content-Length; x-amz-decoded-content-length is `size`).
  static std::size_t encodedLength(std::size_t size, std::size_t chunk_size);

private:
  std::string key_;
  std::string scope_;
  std::string timestamp_;
  std::string previous_;
};

/// Lower-case hex SHA-256.
std::string sha256Hex(std::string_view data);
/// AWS's URI encoding: every byte but A-Z a-z 0-9 - . _ ~ as %XX (upper-case hex); '/' kept
/// when `keep_slash`.
std::string uriEncode(std::string_view text, bool keep_slash);
/// `20150830T123600Z`
std::string amzDate(std::chrono::system_clock::time_point time);

} // namespace exoflow::aws
