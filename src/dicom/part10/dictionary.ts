/**
 * A compact data dictionary: the VR of the commonly used attributes of groups 0002, 0008,
 * 0010, 0018, 0020, 0032 and 0040 (PS3.6 Table 6-1, Table 7-1), enough to know the VR of an
 * element read in implicit VR (PS3.5 §7.1.3), where the bytes do not carry it.
 *
 * Hand-written: the whole PS3.6 dictionary is not needed for the few elements we capture or
 * rewrite, and unknown tags fall back to UN as PS3.5 §6.2.2 allows.
 */

const ENTRIES: ReadonlyArray<readonly [number, string, string]> = [
  [0x00020000, 'UL', 'FileMetaInformationGroupLength'],
  [0x00020001, 'OB', 'FileMetaInformationVersion'],
  [0x00020002, 'UI', 'MediaStorageSOPClassUID'],
  [0x00020003, 'UI', 'MediaStorageSOPInstanceUID'],
  [0x00020010, 'UI', 'TransferSyntaxUID'],
  [0x00020012, 'UI', 'ImplementationClassUID'],
  [0x00020013, 'SH', 'ImplementationVersionName'],
  [0x00020016, 'AE', 'SourceApplicationEntityTitle'],
  [0x00080005, 'CS', 'SpecificCharacterSet'],
  [0x00080008, 'CS', 'ImageType'],
  [0x00080012, 'DA', 'InstanceCreationDate'],
  [0x00080013, 'TM', 'InstanceCreationTime'],
  [0x00080016, 'UI', 'SOPClassUID'],
  [0x00080018, 'UI', 'SOPInstanceUID'],
  [0x00080020, 'DA', 'StudyDate'],
  [0x00080021, 'DA', 'SeriesDate'],
  [0x00080022, 'DA', 'AcquisitionDate'],
  [0x00080023, 'DA', 'ContentDate'],
  [0x00080030, 'TM', 'StudyTime'],
  [0x00080031, 'TM', 'SeriesTime'],
  [0x00080032, 'TM', 'AcquisitionTime'],
  [0x00080033, 'TM', 'ContentTime'],
  [0x00080050, 'SH', 'AccessionNumber'],
  [0x00080060, 'CS', 'Modality'],
  [0x00080064, 'CS', 'ConversionType'],
  [0x00080070, 'LO', 'Manufacturer'],
  [0x00080080, 'LO', 'InstitutionName'],
  [0x00080081, 'ST', 'InstitutionAddress'],
  [0x00080090, 'PN', 'ReferringPhysicianName'],
  [0x00080092, 'ST', 'ReferringPhysicianAddress'],
  [0x00080094, 'SH', 'ReferringPhysicianTelephoneNumbers'],
  [0x00081010, 'SH', 'StationName'],
  [0x00081030, 'LO', 'StudyDescription'],
  [0x0008103e, 'LO', 'SeriesDescription'],
  [0x00081040, 'LO', 'InstitutionalDepartmentName'],
  [0x00081048, 'PN', 'PhysiciansOfRecord'],
  [0x00081050, 'PN', 'PerformingPhysicianName'],
  [0x00081060, 'PN', 'NameOfPhysiciansReadingStudy'],
  [0x00081070, 'PN', 'OperatorsName'],
  [0x00081080, 'LO', 'AdmittingDiagnosesDescription'],
  [0x00081090, 'LO', 'ManufacturerModelName'],
  [0x00082111, 'ST', 'DerivationDescription'],
  [0x00100010, 'PN', 'PatientName'],
  [0x00100020, 'LO', 'PatientID'],
  [0x00100021, 'LO', 'IssuerOfPatientID'],
  [0x00100030, 'DA', 'PatientBirthDate'],
  [0x00100032, 'TM', 'PatientBirthTime'],
  [0x00100040, 'CS', 'PatientSex'],
  [0x00101000, 'LO', 'OtherPatientIDs'],
  [0x00101001, 'PN', 'OtherPatientNames'],
  [0x00101005, 'PN', 'PatientBirthName'],
  [0x00101010, 'AS', 'PatientAge'],
  [0x00101020, 'DS', 'PatientSize'],
  [0x00101030, 'DS', 'PatientWeight'],
  [0x00101040, 'LO', 'PatientAddress'],
  [0x00101060, 'PN', 'PatientMotherBirthName'],
  [0x00102154, 'SH', 'PatientTelephoneNumbers'],
  [0x00102160, 'SH', 'EthnicGroup'],
  [0x00102180, 'SH', 'Occupation'],
  [0x001021b0, 'LT', 'AdditionalPatientHistory'],
  [0x00104000, 'LT', 'PatientComments'],
  [0x00180010, 'LO', 'ContrastBolusAgent'],
  [0x00180015, 'CS', 'BodyPartExamined'],
  [0x00180050, 'DS', 'SliceThickness'],
  [0x00181000, 'LO', 'DeviceSerialNumber'],
  [0x00181020, 'LO', 'SoftwareVersions'],
  [0x00181030, 'LO', 'ProtocolName'],
  [0x00184000, 'LT', 'AcquisitionComments'],
  [0x0020000d, 'UI', 'StudyInstanceUID'],
  [0x0020000e, 'UI', 'SeriesInstanceUID'],
  [0x00200010, 'SH', 'StudyID'],
  [0x00200011, 'IS', 'SeriesNumber'],
  [0x00200012, 'IS', 'AcquisitionNumber'],
  [0x00200013, 'IS', 'InstanceNumber'],
  [0x00200052, 'UI', 'FrameOfReferenceUID'],
  [0x00204000, 'LT', 'ImageComments'],
  [0x00321032, 'PN', 'RequestingPhysician'],
  [0x00321033, 'LO', 'RequestingService'],
  [0x00321060, 'LO', 'RequestedProcedureDescription'],
  [0x00324000, 'LT', 'StudyComments'],
  [0x00400244, 'DA', 'PerformedProcedureStepStartDate'],
  [0x00400245, 'TM', 'PerformedProcedureStepStartTime'],
  [0x00400253, 'SH', 'PerformedProcedureStepID'],
  [0x00400254, 'LO', 'PerformedProcedureStepDescription'],
  [0x00400280, 'ST', 'CommentsOnThePerformedProcedureStep'],
  [0x00401001, 'SH', 'RequestedProcedureID'],
  [0x00401002, 'LO', 'ReasonForTheRequestedProcedure'],
  [0x00401400, 'LT', 'RequestedProcedureComments'],
  [0x00402400, 'LT', 'ImagingServiceRequestComments'],
  [0x7fe00010, 'OW', 'PixelData'],
];

const VR_BY_TAG: ReadonlyMap<number, string> = new Map(ENTRIES.map(([t, vr]) => [t, vr]));
const KEYWORD_BY_TAG: ReadonlyMap<number, string> = new Map(ENTRIES.map(([t, , kw]) => [t, kw]));
const TAG_BY_KEYWORD: ReadonlyMap<string, number> = new Map(ENTRIES.map(([t, , kw]) => [kw, t]));

/**
 * VR of a tag for implicit VR reading (PS3.5 §7.1.3, PS3.6 Table 6-1): group lengths are UL,
 * private creators LO (PS3.5 §7.8.1), the dictionary above, otherwise UN (PS3.5 §6.2.2).
 */
export function vrForTag(t: number): string {
  const known = VR_BY_TAG.get(t);
  if (known !== undefined) return known;
  const group = t >>> 16;
  const element = t & 0xffff;
  if (element === 0) return 'UL';
  if ((group & 1) === 1 && element >= 0x0010 && element <= 0x00ff) return 'LO';
  return 'UN';
}

/** PS3.6 keyword of a tag in this compact dictionary, if known. */
export function keywordOf(t: number): string | undefined {
  return KEYWORD_BY_TAG.get(t);
}

/** Tag number of a PS3.6 keyword in this compact dictionary, if known. */
export function tagOfKeyword(keyword: string): number | undefined {
  return TAG_BY_KEYWORD.get(keyword);
}
