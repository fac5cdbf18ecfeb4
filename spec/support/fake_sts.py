"""Fake STS for fake_cloud.py: AssumeRole (signed RPC) and AssumeRoleWithOIDC (unsigned),
Version 2015-04-01.  Every credential issued here -- also those fake_metadata.py hands out --
is accepted by the fake's API endpoints with its security token until it expires, then
rejected with InvalidSecurityToken.Expired.  See spec/support/README.md, "STS".
"""

import collections
import json
import math
import secrets
import threading
import time

import fake_cloud as fc

STS_VERSION = "2015-04-01"
ACCOUNT = "1234567890123456"


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Sts(fc.Extension):
    # sts_duration: seconds every issued credential lives, whatever was asked (null: as asked)
    # oidc_token: the only OIDC token AssumeRoleWithOIDC accepts (null: any non-empty one)
    config = {"sts_duration": None, "oidc_token": None}

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.creds = {}                      # id -> (secret, token, expires_at)
            self.issued = 0
            self.used = collections.Counter()    # id -> accepted API requests
            self.expired = 0                     # requests refused as expired
            self.last_request = None

    def merge_config(self, key, value, current):
        if key == "sts_duration" and value is not None and \
                (not isinstance(value, (int, float)) or value < 1):
            raise fc.ApiError(400, "InvalidConfig", "sts_duration must be a number >= 1 or null")
        if key == "oidc_token" and value is not None and not isinstance(value, str):
            raise fc.ApiError(400, "InvalidConfig", "oidc_token must be a string or null")
        return value

    def stats(self):
        with self.lock:
            return {"sts": {"issued": self.issued, "used": dict(self.used),
                            "expired": self.expired, "last_request": self.last_request}}

    def issue(self, duration):
        """New temporary credentials valid for at least `duration` seconds. They stop working
        on a whole second, exactly the Expiration they carry."""
        override = fc.STATE.get("sts_duration")
        expires = math.ceil(time.time() + (override if override is not None else duration))
        key_id = "STS.fake" + secrets.token_hex(8)
        secret, token = secrets.token_hex(16), "CAIS" + secrets.token_urlsafe(48)
        with self.lock:
            self.creds[key_id] = (secret, token, expires)
            self.issued += 1
        return {"AccessKeyId": key_id, "AccessKeySecret": secret, "SecurityToken": token,
                "Expiration": iso(expires)}

    def secret(self, key_id):
        with self.lock:
            c = self.creds.get(key_id)
        return c and c[0]

    def check_token(self, key_id, token):
        with self.lock:
            c = self.creds.get(key_id)
            if c is None:
                return False
            if not token:
                raise fc.ApiError(400, "MissingSecurityToken",
                                  "SecurityToken is mandatory for this access key.")
            if token != c[1]:
                raise fc.ApiError(400, "InvalidSecurityToken.MismatchWithAccessKey",
                                  "Specified SecurityToken mismatch with the AccessKey.")
            if time.time() >= c[2]:
                self.expired += 1
                raise fc.ApiError(400, "InvalidSecurityToken.Expired",
                                  "Specified SecurityToken is expired.")
            self.used[key_id] += 1
            return True

    # ------------------------------------------------------------ actions

    def _params(self, req, required):
        p = req.params()
        if p.get("Version") != STS_VERSION:
            raise fc.ApiError(400, "InvalidVersion", "Specified parameter Version is not valid.")
        for name in required:
            if not p.get(name):
                raise fc.missing(name)
        policy = p.get("Policy")
        if policy:
            try:
                json.loads(policy)
            except ValueError:
                raise fc.ApiError(400, "InvalidParameter.PolicyGrammar",
                                  "The parameter Policy has not passed grammar check.") from None
        duration = fc.int_param(p, "DurationSeconds", 3600, 900, 43200)
        with self.lock:   # what arrived, minus the signature and the OIDC token
            self.last_request = {k: v for k, v in p.items() if k not in ("Signature", "OIDCToken")}
        return p, duration

    def _answer(self, rid, p, duration, **extra):
        session = p["RoleSessionName"]
        role = p["RoleArn"].rsplit("/", 1)[-1]
        out = {"RequestId": rid, "Credentials": self.issue(duration),
               "AssumedRoleUser": {"Arn": "acs:ram::%s:assumed-role/%s/%s" % (ACCOUNT, role, session),
                                   "AssumedRoleId": "3%017d:%s" % (len(session), session)}}
        out.update(extra)
        return out

    def assume_role(self, req, rid):
        p, duration = self._params(req, ("RoleArn", "RoleSessionName"))
        return self._answer(rid, p, duration)

    def assume_role_with_oidc(self, req, rid):
        p, duration = self._params(req, ("RoleArn", "OIDCProviderArn", "OIDCToken",
                                         "RoleSessionName"))
        want = fc.STATE.get("oidc_token")
        if want is not None and p["OIDCToken"] != want:
            raise fc.ApiError(400, "AuthenticationFail.OIDCToken.Invalid",
                              "The OIDC token is invalid.")
        return self._answer(rid, p, duration, OIDCTokenInfo={
            "Subject": "system:serviceaccount:default:fake", "Issuer": "https://oidc.fake",
            "ClientIds": "sts.aliyuncs.com"})


STS = Sts()
fc.RPC_ACTIONS["AssumeRole"] = STS.assume_role
fc.RPC_ACTIONS["AssumeRoleWithOIDC"] = STS.assume_role_with_oidc
fc.UNSIGNED_ACTIONS.add("AssumeRoleWithOIDC")
