import { Controller, Get, Req, UseGuards } from '@nestjs/common';
import { parseScope } from '../clients/scopes';
import { DeviceAuthenticatedRequest, DeviceAuthGuard } from '../token/device-auth.guard';

/** A host API route protected by the issued access tokens. */
@Controller('api')
export class ApiController {
  @Get('me')
  @UseGuards(DeviceAuthGuard)
  me(@Req() request: DeviceAuthenticatedRequest): { user: string; client_id: string; scopes: string[] } {
    const token = request.deviceAuth;
    return { user: token.sub, client_id: token.client_id, scopes: parseScope(token.scope) };
  }
}
