import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { DeviceAuthModuleOptions } from './device-auth.options';

export const {
  ConfigurableModuleClass: ConfigurableDeviceAuthModule,
  MODULE_OPTIONS_TOKEN: DEVICE_AUTH_MODULE_OPTIONS,
  OPTIONS_TYPE: DEVICE_AUTH_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: DEVICE_AUTH_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<DeviceAuthModuleOptions>({ moduleName: 'DeviceAuth' })
  .setClassMethodName('forRoot')
  // A `useClass`/`useExisting` options factory implements `createDeviceAuthOptions()`.
  .setFactoryMethodName('createDeviceAuthOptions')
  .setExtras({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
