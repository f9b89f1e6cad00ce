export {
  type CaseQualityReport,
  createQualityCheck,
  type ImageCheck,
  type QualityRow,
  validateCaseImages,
} from './case-quality.ts';
export {
  checkImage,
  type Expected,
  hammingDistance,
  type OtherImage,
  perceptualHash,
  pHash,
  QUALITY_LIMITS,
  type QualityCheckName,
  type QualityFailure,
  type QualityResult,
} from './checks.ts';
