import { registerSectionValidator } from '../../config/config-loader.js';
import { validateModelsSection } from './model-map.js';

/**
 * Importing this file makes config loading validate the `models` section. It is a side-effect
 * module on purpose: the config loader must not depend on the messages feature.
 */
registerSectionValidator((dto) => validateModelsSection(dto.models, new Set(dto.providers.map((p) => p.name))));
