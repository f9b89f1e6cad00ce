export {
  createQualityCheck,
  type ImageCheck,
  validateCaseImages,
} from './case-quality.ts';
export {
  checkImage,
  hammingDistance,
  perceptualHash,
  QUALITY_LIMITS,
} from './checks.ts';
