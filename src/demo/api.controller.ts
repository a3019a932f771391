import { Controller, Get, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { parseScope } from '../clients/scopes';
import { DeviceAuthenticatedRequest, DeviceAuthGuard, Scopes } from '../token/device-auth.guard';

/** A host API route protected by the issued access tokens. */
@Controller('api')
export class ApiController {
  @Get('me')
  @UseGuards(DeviceAuthGuard)
  me(@Req() request: DeviceAuthenticatedRequest): { user: string; client_id: string; scopes: string[] } {
    const token = request.deviceAuth;
    return { user: token.sub, client_id: token.client_id, scopes: parseScope(token.scope) };
  }

  /** A route that changes something, so it needs the `write` scope. */
  @Post('me/touch')
  @HttpCode(200)
  @UseGuards(DeviceAuthGuard)
  @Scopes('write')
  touch(@Req() request: DeviceAuthenticatedRequest): { user: string; touched: true } {
    return { user: request.deviceAuth.sub, touched: true };
  }
}
