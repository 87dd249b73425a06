export { factoryOnly, factoryOnlyOptions, FactoryIdGate, type FactoryOnlyOptions } from './factory-only.js'
export { default } from './factory-only.js'
