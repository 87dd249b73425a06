/**
 * @embedmq/example-smart-factory: the factory server (broker + line
 * controller + dashboard) as a library, for tests and for embedding.
 * `src/main.ts` is the `npm start` entry; `src/simulator/` runs the machines.
 */
export { createFactoryServer, PortInUseError, DEFAULT_DATA_DIR, PACKAGE_DIR, PUBLIC_DIR, type FactoryServer, type FactoryServerOptions } from './server/server.js'
export { LineController, CommandRequestError, type ControllerOptions, type MachineStatus } from './server/controller/controller.js'
export type { CommandResult } from './server/controller/commands.js'
export type { AlarmCondition, ControllerAlarm } from './server/controller/alarm-book.js'
export type { AuditEntry } from './server/controller/audit.js'
export { DEFAULT_THRESHOLDS, type KindThresholds, type Threshold } from './server/controller/thresholds.js'
export { MachineOeeTracker, oeeFigures, sumInputs, type OeeInputs } from './server/controller/oee.js'
export { plantAuth, MACHINE_ROLE, type PlantAuthOptions } from './server/plant-auth.js'
export { plantAcl } from './server/plant-acl.js'
export { DEMO_USERS, UserStore, usersFromEnv, type Role, type User, type UserSpec } from './server/users.js'
export * from './shared/topics.js'
export * from './shared/plant.js'
