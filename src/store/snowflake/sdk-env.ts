/**
 * Imported before `snowflake-sdk` (ES modules evaluate imports in order): the AWS SDK that the driver
 * bundles for stage uploads, which FLEET-Q never uses, warns on Node 20 about its future Node 22
 * requirement when it loads, one stray non-JSON line in every pod's log. An operator's own setting
 * wins. Owns this one environment default and nothing else.
 */
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

export {};
