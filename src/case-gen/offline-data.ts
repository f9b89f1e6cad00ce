/**
 * Word pools of the offline case generator. Scenes hold no people and no violence, so the images
 * they lead to stay clear of safety filters; suspects are described by looks a painter can draw.
 * One cohesive table of data, so it may pass the 400 lines a file of code keeps under.
 */

export interface Scenario {
  titles: readonly string[];
  /** What happened and where, as the summary's first sentence. */
  crime: string;
  location: string;
  description: string;
  clues: readonly string[];
  /** More than any case needs, so suspects never share a job. */
  occupations: readonly string[];
}

export const SCENARIOS: readonly Scenario[] = [
  {
    titles: ['The Sapphire of the Seaview', 'Low Tide at the Seaview Hotel'],
    crime:
      'the Blue Meridian sapphire vanished from its display cabinet in the ballroom of the Seaview Hotel',
    location: 'The ballroom of the Seaview Hotel',
    description:
      'A faded Edwardian ballroom with tall salt-streaked windows overlooking a grey sea. A velvet-lined glass display cabinet stands open and empty on a small dais. Gilt chairs are pushed back from round tables still set with champagne flutes, and a string of paper lanterns sags from the ceiling.',
    clues: [
      'an open glass cabinet with a cracked latch',
      'a trail of sand across the parquet floor',
      'a torn theatre ticket under a chair',
      'a single pearl cufflink beside the dais',
      'a wet umbrella leaning against the wall',
    ],
    occupations: [
      'Hotel manager',
      'Jeweller',
      'Night porter',
      'Retired admiral',
      'Society columnist',
      'Bandleader',
      'Chambermaid',
    ],
  },
  {
    titles: ['The Blighted Roses', 'Thorns at the Flower Show'],
    crime:
      "the favourite's prize roses were ruined in the flower show marquee on the night before the judging",
    location: 'The judging marquee of the Little Hadley flower show',
    description:
      'A long white canvas marquee lit by strings of bulbs, rows of trestle tables draped in green cloth carrying potted blooms and rosettes. In the middle, a prize rose bush has been stripped, its crimson petals scattered across the trampled grass floor. A watering can lies on its side.',
    clues: [
      'a pair of muddy secateurs under a table',
      'a spilled bottle of weedkiller',
      'a judging card with a name scratched out',
      'a trampled rosette in the grass',
      'a half-eaten scone on a paper plate',
    ],
    occupations: [
      'Head gardener',
      'Vicar',
      'Flower show judge',
      'Beekeeper',
      'Retired botanist',
      'Village postmistress',
      'Nursery owner',
    ],
  },
  {
    titles: ['The Missing First Edition', 'Silence in the Reading Room'],
    crime: 'a signed first edition disappeared from the locked rare books room of Aldgate College library',
    location: 'The rare books reading room of Aldgate College library',
    description:
      'A hushed oak-panelled reading room with green-shaded desk lamps, ladders leaning against floor-to-ceiling shelves and a brass-bound display case standing open. A book cradle on the central table lies empty, surrounded by white cotton gloves and a magnifying glass. Dust motes hang in a shaft of light from a high window.',
    clues: [
      'an empty foam book cradle',
      'a library slip with a torn corner',
      'a fountain pen leaking onto the blotter',
      'a ladder moved to the wrong shelf',
      'a smear of candle wax on the windowsill',
    ],
    occupations: [
      'Head librarian',
      'Visiting professor',
      'Book dealer',
      'Doctoral student',
      'Night watchman',
      'Archivist',
      'Bookbinder',
    ],
  },
  {
    titles: ['The Painted Lie', 'A Forgery at the Gallery'],
    crime:
      'a celebrated landscape at the Varga Gallery was swapped for a forgery the night before the auction',
    location: 'The main hall of the Varga Gallery',
    description:
      'A white-walled gallery with polished concrete floors and track lighting. One picture hook on the far wall holds a gilt frame hanging slightly crooked. A stepladder, a roll of bubble wrap and an open crate sit in the corner beside a catalogue table scattered with price lists.',
    clues: [
      'a crooked gilt frame with fresh scratches',
      'a palette knife with wet ochre paint',
      'a crumpled auction catalogue',
      'an open packing crate with straw spilling out',
      'a lipstick-marked coffee cup',
    ],
    occupations: [
      'Gallery owner',
      'Art restorer',
      'Auctioneer',
      'Painter',
      'Insurance assessor',
      'Art critic',
      'Framer',
    ],
  },
  {
    titles: ['The Stolen Recipe', 'Bad Blood at the Bakery'],
    crime: 'the secret recipe book of Crumb & Daughter bakery was taken from the strongbox in its kitchen',
    location: 'The kitchen of Crumb & Daughter bakery',
    description:
      'A warm tiled bakery kitchen before dawn, flour dusting every surface, copper pans hanging over a scrubbed wooden table. A small iron strongbox under the counter stands open and empty. Loaves cool on racks by the brick oven, and a back door to the alley is propped open with a sack of sugar.',
    clues: [
      'floury footprints leading to the back door',
      'an open iron strongbox',
      'a rolling pin with initials carved in it',
      'a delivery note smudged with jam',
      'a broken eggshell on the doorstep',
    ],
    occupations: [
      'Master baker',
      'Apprentice pastry cook',
      'Flour merchant',
      'Rival café owner',
      'Delivery cyclist',
      'Food critic',
      'Cleaner',
    ],
  },
  {
    titles: ["The Navigator's Clock", 'Lost Time at the Maritime Museum'],
    crime: "a ship's chronometer vanished overnight from the Harbourside Maritime Museum",
    location: 'The navigation gallery of the Harbourside Maritime Museum',
    description:
      'A long gallery of ship models in glass cases, brass telescopes and yellowed sea charts under low lights. A mahogany case on a plinth stands open and empty, its brass hinges bent. Rain runs down a round porthole window, and a coil of rope lies across the floorboards.',
    clues: [
      'a mahogany case with bent brass hinges',
      'wet bootprints by the porthole window',
      'a sea chart with a pencil circle around a cove',
      'a brass key tag with no key',
      'a knotted length of rope',
    ],
    occupations: [
      'Museum curator',
      'Harbour pilot',
      'Clockmaker',
      'Security guard',
      'Marine historian',
      'Fishmonger',
      'Volunteer guide',
    ],
  },
  {
    titles: ['The Endgame Trophy', 'Checkmate at the Chess Club'],
    crime: 'the silver championship trophy disappeared from the Knight and Castle chess club',
    location: 'The clubroom of the Knight and Castle chess club',
    description:
      'A smoky wood-panelled clubroom above a pub, chessboards set out on small tables under green lamps, one game abandoned mid-play. A glass trophy cabinet on the wall is open, a pale ring in the dust where the trophy stood. A scoreboard on an easel lists names in chalk.',
    clues: [
      'a pale dust ring in an empty cabinet',
      'a toppled black king on an abandoned board',
      'a scoreboard with one name rubbed out',
      'a tobacco pipe still warm in an ashtray',
      'a chess clock stopped at 9:14',
    ],
    occupations: [
      'Club secretary',
      'Grandmaster',
      'Pub landlord',
      'Schoolteacher',
      'Retired colonel',
      'Chess journalist',
      'Barmaid',
    ],
  },
  {
    titles: ["The Clockmaker's Last Commission", 'A Ticking Silence'],
    crime: "an antique astronomical clock went missing from a clockmaker's workshop on Tanner Lane",
    location: "A clockmaker's workshop on Tanner Lane",
    description:
      'A cramped workshop crowded with ticking clocks of every size, a workbench cluttered with tiny gears, loupes and tweezers under a bright lamp. An empty space on the central bench is outlined in dust, and a drawer of brass parts has been pulled out and spilled across the floor.',
    clues: [
      'a dust outline of a missing clock on the bench',
      'a spilled drawer of brass gears',
      "a jeweller's loupe dropped on the floor",
      'a receipt pinned under a paperweight',
      'a pendulum stopped on a grandfather clock',
    ],
    occupations: [
      'Clockmaker',
      'Antiques dealer',
      'Landlady',
      'Watch collector',
      'Locksmith',
      'Apprentice',
      'Pawnbroker',
    ],
  },
  {
    titles: ['The Vanished Manuscript', 'Curtain Call at the Lyric'],
    crime: "the only copy of a new play's final act disappeared from the Lyric Theatre on opening night",
    location: 'The star dressing room of the Lyric Theatre',
    description:
      'A cluttered dressing room with a mirror ringed by bulbs, costumes on a rail and bouquets wilting in vases. A writing desk has its drawer forced open, loose typed pages fanned on the floor. A wig stand, a pot of greasepaint and a telegram sit on the dressing table.',
    clues: [
      'a forced desk drawer with a splintered lock',
      'typed pages missing their last act',
      'a telegram reading only Tonight',
      'greasepaint fingerprints on the door',
      'a bouquet card signed with an initial',
    ],
    occupations: [
      'Playwright',
      'Leading actor',
      'Understudy',
      'Theatre producer',
      'Costume designer',
      'Drama critic',
      'Stage doorkeeper',
    ],
  },
  {
    titles: ['The Fallen Star', 'Clear Skies at the Observatory'],
    crime: 'a prized meteorite was taken from the Ravenscar Observatory on a cloudless night',
    location: 'The dome of the Ravenscar Observatory',
    description:
      'A circular domed room open to a starry sky, a great brass telescope on its mount in the middle. Star charts are pinned to curved walls and a display pedestal stands empty beneath a glass bell that has been lifted off. A thermos and two enamel mugs sit on a desk covered with notebooks.',
    clues: [
      'an empty pedestal under a lifted glass bell',
      'two enamel mugs, one with lipstick',
      'a star chart torn from the wall',
      'iron filings scattered on the floor',
      'a notebook open at a page of sums',
    ],
    occupations: [
      'Astronomer',
      'Observatory caretaker',
      'Meteorite collector',
      'Physics student',
      'Science journalist',
      'Patron and philanthropist',
      'Telescope engineer',
    ],
  },
  {
    titles: ['Blue Notes', 'The Safe at the Midnight Club'],
    crime: "the night's takings vanished from the office safe of the Midnight Club",
    location: 'The back office of the Midnight Club',
    description:
      'A small smoky office behind a jazz club stage, a green-shaded lamp on a battered desk, framed band posters on the walls. A squat iron safe stands open and empty in the corner. Through a half-open door the bandstand can be seen, a saxophone resting on a chair beneath a glittering curtain.',
    clues: [
      'an open iron safe with the dial left at 7',
      'a cigarette still burning in an ashtray',
      'a sheet of music with numbers scribbled in the margin',
      'a glove dropped by the door',
      'a spilled glass of whisky on the ledger',
    ],
    occupations: [
      'Club owner',
      'Jazz singer',
      'Saxophonist',
      'Bartender',
      'Cigarette girl',
      'Bookkeeper',
      'Doorman',
    ],
  },
  {
    titles: ['The Truffle Heist', 'Thieves in the Cellar'],
    crime: 'a season of white truffles vanished from the cellar of the Castellane vineyard',
    location: 'The stone cellar of the Castellane vineyard',
    description:
      'A vaulted stone cellar lined with oak barrels and wine racks, lit by a few bare bulbs. A refrigerated cabinet stands open, its wicker baskets empty and scattered with straw. A wheelbarrow leans against a barrel, and a trail of soil leads towards a narrow stair up to the vines.',
    clues: [
      'empty wicker baskets lined with straw',
      'a trail of dark soil on the stone floor',
      'a truffle-hunting dog leash on a hook',
      'a wine glass with a chipped rim',
      'a ledger page torn out',
    ],
    occupations: [
      'Vineyard owner',
      'Truffle hunter',
      'Sommelier',
      'Chef',
      'Cellar hand',
      'Wine merchant',
      'Estate accountant',
    ],
  },
];

export const ART_STYLES: readonly string[] = [
  '1940s film noir ink wash, deep blacks, soft grey washes, dramatic side lighting',
  'Golden-age pulp magazine illustration, bold gouache, saturated colours, strong shadows',
  'Watercolour and ink storybook illustration, loose washes, fine pen lines, warm paper tones',
  'Painterly realistic oil portrait style, muted earth tones, soft window light',
  'Art deco poster illustration, clean geometric shapes, limited palette of teal, gold and cream',
  'Victorian engraving style, fine cross-hatching, sepia ink on cream paper',
  'Mid-century gouache illustration, flat shapes, grainy texture, teal and mustard palette',
  'Moody cinematic digital painting, rich contrast, rain-soaked neon accents',
];

export const TIMES_OF_DAY: readonly string[] = [
  'Just before dawn',
  'Early morning',
  'Late afternoon',
  'Dusk',
  'Late evening',
  'Around midnight',
];

export const WEATHERS: readonly string[] = [
  'Rain streaking the windows',
  'Thick fog pressing against the glass',
  'Cold, clear and still',
  'A heavy summer storm rumbling outside',
  'Snow falling softly outside',
  'A blustery wind rattling the shutters',
];

export const MOODS: readonly string[] = [
  'Hushed and tense',
  'Eerie and still',
  'Chaotic and hurried',
  'Melancholy and quiet',
  'Uneasy and watchful',
];

export const WOMEN: readonly string[] = [
  'Margot',
  'Edith',
  'Ruby',
  'Clara',
  'Ines',
  'Delphine',
  'Harriet',
  'Vera',
  'Lottie',
  'Agnes',
  'Noor',
  'Mei',
  'Beatrix',
  'Imogen',
  'Rosalind',
  'Sunita',
];

export const MEN: readonly string[] = [
  'Walter',
  'Felix',
  'Ambrose',
  'Rupert',
  'Tobias',
  'Cyril',
  'Jasper',
  'Ignatius',
  'Desmond',
  'Hugo',
  'Kofi',
  'Mateo',
  'Percival',
  'Lionel',
  'Rafael',
  'Otto',
];

export const SURNAMES: readonly string[] = [
  'Ellery',
  'Brisk',
  'Antonov',
  'Pemberton',
  'Quill',
  'Havelock',
  'Marchbanks',
  'Okafor',
  'Lindqvist',
  'Castellane',
  'Thorne',
  'Blackwood',
  'Fairweather',
  'Moreau',
  'Sato',
  'Kowalski',
  'Ashdown',
  'Delacroix',
  'Finch',
  'Grimsby',
];

export const BUILDS: readonly string[] = [
  'tall and gaunt',
  'short and stout',
  'slender and wiry',
  'broad-shouldered and heavy-set',
  'small and birdlike',
  'lanky and stooped',
  'sturdy and compact',
];

export const FACES: readonly string[] = [
  'a long pale face with hollow cheeks',
  'a round ruddy face with deep laugh lines',
  'sharp cheekbones and a narrow pointed chin',
  'a square jaw and a crooked, once-broken nose',
  'a heart-shaped face with a dusting of freckles',
  'a weathered, sun-browned face with heavy brows',
  'dark skin, high cheekbones and a calm wide mouth',
  'olive skin, a strong Roman nose and hooded eyes',
];

/** A trait that only fits some suspects: a moustache on a man, grey hair past fifty. */
export interface Trait {
  text: string;
  only?: 'woman' | 'man';
  minAge?: number;
}

export const HAIR: readonly Trait[] = [
  { text: 'glossy black hair pinned in a tight chignon', only: 'woman' },
  { text: 'unruly sandy curls falling over the forehead' },
  { text: 'thinning grey hair combed straight back', minAge: 50 },
  { text: 'a bright copper bob cut sharply at the jaw', only: 'woman' },
  { text: 'close-cropped silver hair', minAge: 45 },
  { text: 'long auburn hair in a thick plait over one shoulder', only: 'woman' },
  { text: 'slicked-back dark hair with a severe side parting' },
  { text: 'a shock of white hair standing up at odd angles', minAge: 55 },
  { text: 'a shaved head that gleams under the light', only: 'man' },
  { text: 'tight black curls cut close at the sides' },
];

export const MARKS: readonly Trait[] = [
  { text: 'round wire-rimmed spectacles' },
  { text: 'a thin scar through the left eyebrow' },
  { text: 'a gold tooth that shows when speaking' },
  { text: 'a thick grey walrus moustache', only: 'man', minAge: 45 },
  { text: 'a monocle on a black ribbon' },
  { text: 'ink-stained fingertips' },
  { text: 'a beauty spot high on one cheek', only: 'woman' },
  { text: 'reading glasses pushed up onto the forehead' },
  { text: 'a neatly trimmed pencil moustache', only: 'man' },
  { text: 'heavy silver hoop earrings' },
];

export const CLOTHING: readonly Trait[] = [
  { text: 'a rumpled tweed suit with leather elbow patches' },
  { text: 'an emerald satin evening gown with a string of pearls', only: 'woman' },
  { text: 'rolled shirtsleeves, a knitted waistcoat and braces' },
  { text: 'a double-breasted navy blazer with brass buttons' },
  { text: 'an ill-fitting black tailcoat and a crooked bow tie', only: 'man' },
  { text: 'a paint-spattered smock over a striped shirt' },
  { text: "a crisp white chef's jacket with rolled cuffs" },
  { text: 'a long camel overcoat with the collar turned up' },
  { text: 'a floral tea dress under a hand-knitted cardigan', only: 'woman' },
  { text: 'a dark uniform jacket with polished silver buttons' },
  { text: 'a velvet smoking jacket with a silk cravat', only: 'man' },
];

export const DEMEANORS: readonly string[] = [
  'Composed but brittle, chin held high',
  'Gruff and impatient, keeps checking a pocket watch',
  'Nervous and overly polite, avoids eye contact',
  'Charming and talkative, smiles a little too much',
  'Cold and watchful, arms folded',
  'Flustered and tearful, twisting a handkerchief',
  'Bored and aloof, one eyebrow raised',
  'Jittery and defensive, answers questions with questions',
];

export const MOTIVES: readonly string[] = [
  'Owes a large sum to a dangerous creditor',
  'Was publicly humiliated by the owner last month',
  'Stands to inherit if the matter is never resolved',
  'Has a buyer waiting abroad who asks no questions',
  'Believes the item was rightfully theirs all along',
  'Is being quietly blackmailed by someone present',
  'Was passed over for a promotion promised for years',
];

export const ALIBIS: readonly string[] = [
  'Says they were alone in the corridor at the time',
  'Claims to have been on the telephone in the lobby',
  'Says they stepped outside for some air',
  'Claims to have been fixing something in the cellar',
  'Says they were reading in their room all evening',
  'Claims to have been with a friend who cannot be found',
];
