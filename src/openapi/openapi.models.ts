import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/**
 * Shapes for the OpenAPI document only: the controllers read and validate their parameters
 * themselves (see `readParams`), so these classes describe the wire format and nothing else.
 */

export class OAuthErrorBody {
  @ApiProperty({ example: 'invalid_request', description: 'RFC 6749 §5.2 / RFC 8628 §3.5 error code' })
  error!: string;
  @ApiProperty({ example: 'The device_code parameter is required.' })
  error_description!: string;
}

export class SlowDownErrorBody extends OAuthErrorBody {
  @ApiProperty({ example: 10, description: 'The new polling interval in seconds (slow_down only).' })
  interval!: number;
}

export class ClientCredentialsParams {
  @ApiPropertyOptional({ example: 'demo-cli', description: 'Required unless sent by HTTP Basic.' })
  client_id?: string;
  @ApiPropertyOptional({ description: 'client_secret_post for confidential clients (or use HTTP Basic, not both).' })
  client_secret?: string;
}

export class DeviceAuthorizationParams extends ClientCredentialsParams {
  @ApiPropertyOptional({ example: 'read write', description: "Space-separated; the client's default scopes when absent." })
  scope?: string;
}

export class DeviceAuthorizationBody {
  @ApiProperty({ description: 'Opaque, 256 bits; only its SHA-256 is stored.' })
  device_code!: string;
  @ApiProperty({ example: 'BDWP-HQPK' })
  user_code!: string;
  @ApiProperty({ example: 'https://auth.example.com/device' })
  verification_uri!: string;
  @ApiProperty({ example: 'https://auth.example.com/device?user_code=BDWP-HQPK' })
  verification_uri_complete!: string;
  @ApiProperty({ example: 900 })
  expires_in!: number;
  @ApiProperty({ example: 5 })
  interval!: number;
}

export class TokenParams extends ClientCredentialsParams {
  @ApiProperty({ enum: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'] })
  grant_type!: string;
  @ApiPropertyOptional({ description: 'For the device code grant.' })
  device_code?: string;
  @ApiPropertyOptional({ description: 'For the refresh grant.' })
  refresh_token?: string;
  @ApiPropertyOptional({ description: 'Refresh only: a narrower scope for the new access token.' })
  scope?: string;
}

export class TokenBody {
  @ApiProperty({ description: 'RFC 9068 JWT' })
  access_token!: string;
  @ApiProperty({ example: 'Bearer' })
  token_type!: string;
  @ApiProperty({ example: 3600 })
  expires_in!: number;
  @ApiProperty({ example: 'read write' })
  scope!: string;
  @ApiPropertyOptional({ description: 'For clients allowed refresh tokens; rotates on every use.' })
  refresh_token?: string;
}

export class TokenParam extends ClientCredentialsParams {
  @ApiProperty()
  token!: string;
  @ApiPropertyOptional({ enum: ['access_token', 'refresh_token'] })
  token_type_hint?: string;
}

export class IntrospectionBody {
  @ApiProperty()
  active!: boolean;
  @ApiPropertyOptional({ enum: ['Bearer'], description: 'Bearer for access tokens; absent for refresh tokens.' })
  token_type?: string;
  @ApiPropertyOptional()
  sub?: string;
  @ApiPropertyOptional()
  client_id?: string;
  @ApiPropertyOptional()
  scope?: string;
  @ApiPropertyOptional()
  exp?: number;
  @ApiPropertyOptional()
  iat?: number;
}

export class VerificationParams {
  @ApiProperty({ example: 'bdwp hqpk', description: 'Any spacing and case.' })
  user_code!: string;
  @ApiPropertyOptional({ description: 'CSRF token; or send it in the X-CSRF-Token header.' })
  _csrf?: string;
}

class SessionUser {
  @ApiProperty()
  id!: string;
  @ApiProperty()
  display_name!: string;
}

export class SessionBody {
  @ApiProperty({ type: SessionUser })
  user!: SessionUser;
  @ApiProperty()
  csrf_token!: string;
}

class ClientSummary {
  @ApiProperty()
  client_id!: string;
  @ApiProperty()
  name!: string;
}

class ScopeSummary {
  @ApiProperty()
  scope!: string;
  @ApiProperty({ nullable: true, type: String })
  description!: string | null;
}

export class LookupBody {
  @ApiProperty({ example: 'BDWP-HQPK' })
  user_code!: string;
  @ApiProperty({ type: ClientSummary })
  client!: ClientSummary;
  @ApiProperty({ type: [ScopeSummary] })
  scopes!: ScopeSummary[];
  @ApiProperty({ format: 'date-time' })
  requested_at!: string;
  @ApiProperty({ format: 'date-time' })
  expires_at!: string;
  @ApiProperty({ nullable: true, type: String })
  requester_ip!: string | null;
  @ApiProperty({ nullable: true, type: String })
  requester_user_agent!: string | null;
}

export class DecisionBody {
  @ApiProperty({ enum: ['approved', 'denied'] })
  status!: string;
  @ApiProperty({ type: ClientSummary })
  client!: ClientSummary;
}
