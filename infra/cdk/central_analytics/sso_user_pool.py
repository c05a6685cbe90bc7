"""Optional Cognito user pool for single sign-on (context ``sso=true``).

The dashboard shows cost and operational data of every app, so the pool is closed: no
self sign-up (admins create users), TOTP MFA required (no SMS: SIM swapping, and SMS needs an
SNS spend limit), a 12-character password with all character classes, and the Plus feature plan
so threat protection can block compromised credentials (about $0.02 per monthly active user).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from central_analytics.config import DeployConfig


class SsoUserPool(Construct):
    """User pool, hosted-UI domain and an OIDC app client (authorization code flow)."""

    def __init__(self, scope: Construct, construct_id: str, *, cfg: DeployConfig) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True, username=False),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(3),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.domain = self.user_pool.add_domain(
            "Domain",
            cognito_domain=cognito.CognitoDomainOptions(domain_prefix=cfg.domain_prefix),
        )
        self.client = self.user_pool.add_client(
            "DashboardClient",
            generate_secret=True,  # confidential client: the ALB / Streamlit server holds it
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[
                    cognito.OAuthScope.OPENID,
                    cognito.OAuthScope.EMAIL,
                    cognito.OAuthScope.PROFILE,
                ],
                callback_urls=[cfg.sso_callback_url],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            access_token_validity=cdk.Duration.hours(1),
            id_token_validity=cdk.Duration.hours(1),
            refresh_token_validity=cdk.Duration.hours(12),
        )
        self.issuer_url = self.user_pool.user_pool_provider_url
