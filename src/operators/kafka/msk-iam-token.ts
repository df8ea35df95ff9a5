import { awsMskIamSigner } from '../../remote/aws-sdk.js';

/**
 * An OAUTHBEARER token for Amazon MSK IAM auth (aws-msk-iam-sasl-signer-js, default AWS
 * credential chain). Tokens are short-lived: both clients ask again on every (re)authentication.
 */
export async function mskIamToken(region: string): Promise<string> {
  return (await awsMskIamSigner().generateAuthToken({ region })).token;
}
